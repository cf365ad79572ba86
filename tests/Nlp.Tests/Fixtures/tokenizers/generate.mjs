// Reference token ids for the tokenizer tests, computed by Hugging Face tokenizers (its Rust core, through
// @anush008/tokenizers), an implementation independent of ours and of Microsoft.ML.Tokenizers.
// Each tokenization type is rebuilt as a tokenizer.json pipeline that does what Elasticsearch's tokenizer does
// (see the comments in src/Inference/Text for where ES and the libraries differ), over the vocabularies
// train.py wrote. Run: python3 train.py && npm ci && node generate.mjs  (writes references.json)
import { readFileSync, writeFileSync } from "node:fs";
import tokenizers from "@anush008/tokenizers";
const { Tokenizer } = tokenizers;

const load = (name) => JSON.parse(readFileSync(new URL(name, import.meta.url), "utf8"));
const ids = (vocabulary) => Object.fromEntries(vocabulary.map((t, i) => [t, i]));
const special = (vocabulary, tokens) =>
  tokens.filter((t) => vocabulary.includes(t)).map((t) => ({
    id: vocabulary.lastIndexOf(t), content: t, single_word: false, lstrip: t.includes("mask"), rstrip: false, normalized: false, special: true,
  }));
const template = (vocabulary, cls, sep, separatorsBetween) => {
  const s = (id) => ({ SpecialToken: { id, type_id: 0 } });
  const seq = (id) => ({ Sequence: { id, type_id: 0 } });
  return {
    type: "TemplateProcessing",
    single: [s(cls), seq("A"), s(sep)],
    pair: [s(cls), seq("A"), ...Array(separatorsBetween).fill(s(sep)), seq("B"), s(sep)],
    special_tokens: Object.fromEntries([cls, sep].map((t) => [t, { id: t, ids: [vocabulary.lastIndexOf(t)], tokens: [t] }])),
  };
};
const base = { version: "1.0", truncation: null, padding: null, decoder: null };

function wordPiece(file, lowercase, tokens) {
  const { vocabulary } = load(file);
  const [cls, sep, pad, unk, mask] = tokens;
  return {
    vocabulary,
    json: {
      ...base,
      added_tokens: special(vocabulary, tokens),
      // ES's ControlCharFilter also drops characters outside the BMP (Java sees their surrogates, of type SURROGATE);
      // then BasicTokenFilter: clean text, split punctuation and CJK, strip accents only when lower-casing.
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Replace", pattern: { Regex: "[\\x{10000}-\\x{10FFFF}]" }, content: "" },
          { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
        ],
      },
      pre_tokenizer: { type: "BertPreTokenizer" },
      model: { type: "WordPiece", unk_token: unk, continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: ids(vocabulary) },
      post_processor: template(vocabulary, cls, sep, tokens === MPNET ? 2 : 1),
    },
  };
}
const BERT = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"];
const MPNET = ["<s>", "</s>", "<pad>", "[UNK]", "<mask>"];

function roberta(addPrefixSpace) {
  const { vocabulary, merges } = load("roberta.json");
  return {
    vocabulary,
    json: {
      ...base,
      added_tokens: special(vocabulary, ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]),
      normalizer: null,
      // ES's BpeTokenizer: the GPT-2 pattern, bytes mapped to printable chars, a space before the first word with add_prefix_space.
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, vocab: ids(vocabulary), merges,
      },
      post_processor: template(vocabulary, "<s>", "</s>", 2),
    },
  };
}

function unigram(file, tokens, byteFallback) {
  const { vocabulary, scores } = load(file);
  const [cls, sep, pad, unk, mask] = tokens;
  return {
    vocabulary,
    json: {
      ...base,
      added_tokens: special(vocabulary, tokens),
      // NFKC stands in for ES's precompiled XLM-R char map (see UnigramTokenizer.cs); then ES's UnigramTokenizer:
      // split on whitespace, "▁" before every word, Viterbi over the pieces, unknowns fused (or bytes with byte fallback).
      normalizer: { type: "NFKC" },
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true }],
      },
      model: { type: "Unigram", unk_id: vocabulary.indexOf(unk), vocab: vocabulary.map((t, i) => [t, scores[i]]), byte_fallback: byteFallback },
      post_processor: template(vocabulary, cls, sep, tokens === XLMR ? 2 : 1),
    },
  };
}
const XLMR = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"];
const DEBERTA = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"];

const types = {
  bert_cased: { options: { tokenization: "bert", do_lower_case: false, vocabulary: "wordpiece-cased.json" }, ...wordPiece("wordpiece-cased.json", false, BERT) },
  bert_uncased: { options: { tokenization: "bert", do_lower_case: true, vocabulary: "wordpiece-uncased.json" }, ...wordPiece("wordpiece-uncased.json", true, BERT) },
  mpnet: { options: { tokenization: "mpnet", do_lower_case: true, vocabulary: "mpnet.json" }, ...wordPiece("mpnet.json", true, MPNET) },
  roberta: { options: { tokenization: "roberta", add_prefix_space: false, vocabulary: "roberta.json" }, ...roberta(false) },
  roberta_prefix_space: { options: { tokenization: "roberta", add_prefix_space: true, vocabulary: "roberta.json" }, ...roberta(true) },
  xlm_roberta: { options: { tokenization: "xlm_roberta", vocabulary: "xlm_roberta.json" }, ...unigram("xlm_roberta.json", XLMR, false) },
  deberta_v2: { options: { tokenization: "deberta_v2", vocabulary: "deberta_v2.json" }, ...unigram("deberta_v2.json", DEBERTA, true) },
};

const texts = [
  "Elasticsearch is fun.",
  "The quick brown fox jumps over the lazy dog.",
  "Le café est très bon à Paris, où l'été est chaud.",
  "Naïve coöperation déjà vu, Über Straße",
  "東京は日本の首都です。中文分词",
  "Don't stop: it's 3.14, 42 and 2026!",
  "xyzzy qwertz zebra Quixotic",
  "",
  "   ",
  "Hello\tworld\nnew  line",
  "Москва — столица России",
  "한국어 문장도",
  "someone@example.com https://www.elastic.co/guide",
  "Searching searched searches",
  "MASK_HERE is fun",
  "emoji \u{1F600} ok\u{1F44D}",
  "ＦＵＬＬ width",
  "a" + "b".repeat(120) + " long",
];
// A no-break space is not whitespace to Java (ES's WhitespaceTokenizer), so for WordPiece "no\u00A0break" is one word;
// HF's BertPreTokenizer splits it. That rule is tested on its own (TokenizerElasticsearchRulesTests), not here.
const notForWordPiece = ["no\u00A0break"];
const longText = "Elasticsearch is a distributed search and analytics engine built on Apache Lucene. It stores documents, indexes them, and answers questions about them in near real time.";
const pairs = [
  ["What is Elasticsearch?", "Elasticsearch is a search engine."],
  ["Le café", "est très bon"],
  ["", "empty first"],
];

const references = {};
for (const [name, type] of Object.entries(types)) {
  const tokenizer = Tokenizer.fromString(JSON.stringify(type.json));
  const mask = type.json.added_tokens.find((t) => t.content.toLowerCase().includes("mask")).content;
  const encode = async (a, b = null, options = {}) => {
    const e = await tokenizer.encode(a, b, { addSpecialTokens: true, ...options });
    return e.getIds();
  };
  const singles = [];
  const wordPiece = type.json.model.type === "WordPiece";
  for (const raw of [...texts, ...(wordPiece ? [] : notForWordPiece), longText]) {
    const text = raw.replace("MASK_HERE", mask);
    singles.push({ text, ids: await encode(text), without_special_tokens: await encode(text, null, { addSpecialTokens: false }) });
  }
  const pairResults = [];
  for (const [a, b] of pairs) pairResults.push({ first: a, second: b, ids: await encode(a, b) });
  references[name] = { ...type.options, singles, pairs: pairResults };
}
writeFileSync(new URL("references.json", import.meta.url), JSON.stringify(references, null, 1) + "\n");
console.log("wrote references.json:", Object.keys(references).join(", "));
