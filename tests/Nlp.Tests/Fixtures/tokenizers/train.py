#!/usr/bin/env python3
"""Trains the small vocabularies the tokenizer tests use, from corpus.txt, with nothing but the standard library.

Writes one PUT _ml/trained_models/<id>/vocabulary body per tokenization type:
  wordpiece-cased.json / wordpiece-uncased.json / mpnet.json  {"vocabulary": [...]}
  roberta.json                                                {"vocabulary": [...], "merges": [...]}   byte-level BPE
  xlm_roberta.json / deberta_v2.json                          {"vocabulary": [...], "scores": [...]}   SentencePiece unigram
The trainers are deliberately simple (frequency counts, greedy merges); the references come from another
implementation (generate.mjs), so what matters is that the vocabularies are realistic, not optimal.
"""
import collections, json, math, unicodedata

corpus = open("corpus.txt", encoding="utf-8").read()


def dump(name, body):
    with open(name, "w", encoding="utf-8") as f:
        json.dump(body, f, ensure_ascii=False, indent=0)
        f.write("\n")


def is_punct(c):
    return unicodedata.category(c).startswith("P") or (c.isascii() and not c.isalnum() and not c.isspace())


def is_cjk(c):
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def strip_accents(w):
    return "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")


def bert_words(text, lower):
    words = []
    for chunk in text.split():
        if lower:
            chunk = strip_accents(chunk.lower())
        cur = ""
        for c in chunk:
            if is_punct(c) or is_cjk(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(lower, specials):
    counts = collections.Counter(bert_words(corpus, lower))
    vocab = list(specials)
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for c in sorted({c for w in counts for c in w}):
        add(c)
        add("##" + c)
    # Whole words seen twice or more, and the stems and endings of the others, so words split into pieces.
    for w, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
        if n >= 2 or len(w) <= 3:
            add(w)
        elif len(w) > 5:
            add(w[:4])
            add("##" + w[4:])
    for suffix in ["ing", "ed", "es", "s", "er", "tion", "ly"]:
        add("##" + suffix)
    return vocab


dump("wordpiece-cased.json", {"vocabulary": wordpiece(False, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])})
dump("wordpiece-uncased.json", {"vocabulary": wordpiece(True, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])})
dump("mpnet.json", {"vocabulary": wordpiece(True, ["<s>", "<pad>", "</s>", "[UNK]"]) + ["<mask>"]})


# --- byte-level BPE (GPT-2 / RoBERTa) ---
def byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTES = byte_chars()


def gpt2_pretokenize(text):
    """The GPT-2 pattern 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+ (good enough for training)."""
    kind = lambda c: "L" if unicodedata.category(c).startswith("L") else "N" if unicodedata.category(c).startswith("N") else "S" if c.isspace() else "P"
    out, i = [], 0
    while i < len(text):
        for con in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if text.startswith(con, i):
                out.append(con)
                i += len(con)
                break
        else:
            j = i + 1 if text[i] == " " and i + 1 < len(text) and kind(text[i + 1]) != "S" else i
            k = kind(text[j])
            e = j + 1
            while e < len(text) and kind(text[e]) == k:
                e += 1
            out.append(text[i:e])
            i = e
    return out


words = collections.Counter("".join(BYTES[b] for b in w.encode("utf-8")) for w in gpt2_pretokenize(corpus))
splits = {w: list(w) for w in words}
merges = []
for _ in range(400):
    pairs = collections.Counter()
    for w, n in words.items():
        s = splits[w]
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += n
    if not pairs:
        break
    (a, b), n = max(pairs.items(), key=lambda x: (x[1], x[0]))
    if n < 2:
        break
    merges.append(f"{a} {b}")
    for w in words:
        s, out, i = splits[w], [], 0
        while i < len(s):
            if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(s[i])
                i += 1
        splits[w] = out
vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [BYTES[b] for b in range(256)] + [m.replace(" ", "") for m in merges] + ["<mask>"]
dump("roberta.json", {"vocabulary": vocab, "merges": merges})


# --- SentencePiece unigram (XLM-RoBERTa, DeBERTa-v2) ---
def unigram(specials, tail, byte_pieces):
    counts = collections.Counter()
    for w in unicodedata.normalize("NFKC", corpus).split():
        s = "▁" + w
        for i in range(len(s)):
            for j in range(i + 1, min(len(s), i + 8) + 1):
                counts[s[i:j]] += 1
    singles = {p for p in counts if len(p) == 1}
    # Keep every character (minus a few, so that some text is unknown), then the substrings worth most.
    singles -= {"Q", "z", "ß", "한"}
    multi = sorted((p for p in counts if len(p) > 1 and counts[p] >= 2), key=lambda p: (-counts[p] * len(p), p))[:600]
    total = sum(counts[p] for p in singles | set(multi))
    pieces = sorted(singles, key=lambda p: (-counts[p], p)) + multi
    vocab = list(specials) + pieces + list(tail)
    scores = [0.0] * len(specials) + [round(math.log(counts[p] / total), 4) for p in pieces] + [0.0] * len(tail)
    if byte_pieces:
        vocab += [f"<0x{b:02X}>" for b in range(256)]
        scores += [0.0] * 256
    return {"vocabulary": vocab, "scores": scores}


dump("xlm_roberta.json", unigram(["<s>", "<pad>", "</s>", "<unk>"], ["<mask>"], False))
dump("deberta_v2.json", unigram(["[PAD]", "[CLS]", "[SEP]", "[UNK]"], ["[MASK]"], True))
