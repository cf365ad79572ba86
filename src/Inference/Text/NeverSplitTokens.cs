namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// ES's TokenizerUtils.splitOutNeverSplit over a CharTrie, for the BPE and unigram tokenizers: cuts a text into the
/// never-split tokens it holds (such as &lt;mask&gt;) and the text between them, walking the trie as ES does (a node
/// is a leaf only when nothing longer continues it; a mismatch restarts the walk at that char).
/// </summary>
internal sealed class NeverSplitTokens
{
    private readonly Node root = new();
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> tokens;

    public NeverSplitTokens(IEnumerable<string> neverSplit)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in neverSplit)
        {
            if (token.Length == 0 || !set.Add(token)) continue;
            var node = root;
            foreach (var c in token)
            {
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
        }
        tokens = set.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool Contains(ReadOnlySpan<char> text) => tokens.Contains(text);

    /// <summary>Appends the segments of <paramref name="input"/> in order: (start, length, whether it is a never-split token).</summary>
    public void Split(ReadOnlySpan<char> input, List<(int Start, int Length, bool NeverSplit)> segments)
    {
        segments.Clear();
        var current = root;
        var windowStart = 0;
        var tokenStart = 0;
        var lastEnd = 0;
        for (var i = 0; i < input.Length; i++)
        {
            current.Children.TryGetValue(input[i], out var child);
            if (current == root && child is not null) tokenStart = i;
            if (child is null)
            {
                current = root;
                if (root.Children.TryGetValue(input[i], out child))
                {
                    tokenStart = i;
                    current = child;
                }
            }
            else if (child.Children.Count == 0)
            {
                if (tokens.Contains(input[tokenStart..(i + 1)]))
                {
                    if (windowStart < tokenStart) segments.Add((windowStart, tokenStart - windowStart, false));
                    segments.Add((tokenStart, i + 1 - tokenStart, true));
                    lastEnd = i + 1;
                }
                windowStart = i + 1;
                current = root;
            }
            else
            {
                current = child;
            }
        }
        if (lastEnd < input.Length) segments.Add((lastEnd, input.Length - lastEnd, false));
    }

    private sealed class Node
    {
        public readonly Dictionary<char, Node> Children = [];
    }
}
