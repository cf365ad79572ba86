using System.Runtime.InteropServices;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// One node of a compiled tree. Every split is stored as <c>x ≤ threshold</c> (lt and gte use the
/// next lower double) with <see cref="Flip"/> saying whether ≤ means right; a node's two children
/// sit side by side at <see cref="Child"/> (left) and <see cref="Child"/> + 1 (right), so the next
/// node is an addition, not a branch. A leaf steps to itself, so trees can be walked a fixed number
/// of steps, several at once.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FlatNode
{
    public double Threshold;

    /// <summary>Index into the feature vector (0 for a leaf, which any value leaves in place).</summary>
    public int Feature;

    /// <summary>Index of the left child (the right one follows it); a leaf's own index.</summary>
    public int Child;

    /// <summary>1 when <c>x ≤ threshold</c> goes right (gt, gte).</summary>
    public int Flip;

    /// <summary>1 when a missing value goes right (default_left false).</summary>
    public int MissingRight;

    /// <summary>A leaf's values in the leaf array: offset and count (0 for a split).</summary>
    public int LeafOffset, LeafLength;
}

/// <summary>
/// Every tree of a model in two flat arrays (nodes, leaf values), laid out breadth first with
/// siblings adjacent, so evaluating a tree is a short branch-free loop over one array.
/// </summary>
internal sealed class TreeForest
{
    private readonly List<FlatNode> nodes = [];
    private readonly List<double> leafValues = [];
    private FlatNode[] nodeArray = [];
    private double[] leafArray = [];

    /// <summary>Adds a tree whose split features are mapped through <paramref name="featureIndex"/>; returns its root and depth.</summary>
    public (int Root, int Depth) Add(DecisionTree tree, Func<int, int> featureIndex)
    {
        CheckStructure(tree);
        var root = nodes.Count;
        var order = new List<(int Node, int Depth)> { (0, 0) };
        var position = new Dictionary<int, int> { [0] = root };
        var depth = 0;
        nodes.Add(default);
        for (var next = 0; next < order.Count; next++)
        {
            var (index, level) = order[next];
            var node = tree.Nodes[index];
            var at = position[index];
            depth = Math.Max(depth, level);
            if (node.IsLeaf)
            {
                if (node.LeafValue.Count == 0) throw Broken("a leaf node has no [leaf_value]");
                nodes[at] = new FlatNode
                {
                    Threshold = double.PositiveInfinity,
                    Child = at,
                    LeafOffset = leafValues.Count,
                    LeafLength = node.LeafValue.Count,
                };
                leafValues.AddRange(node.LeafValue);
                continue;
            }
            var child = nodes.Count;
            nodes.Add(default);
            nodes.Add(default);
            position[node.LeftChild] = child;
            position[node.RightChild] = child + 1;
            order.Add((node.LeftChild, level + 1));
            order.Add((node.RightChild, level + 1));
            var (threshold, flip) = AsLessOrEqual(node.DecisionType, node.Threshold);
            nodes[at] = new FlatNode
            {
                Threshold = threshold,
                Feature = featureIndex(node.SplitFeature),
                Child = child,
                Flip = flip,
                MissingRight = node.DefaultLeft ? 0 : 1,
            };
        }
        return (root, depth);
    }

    /// <summary>
    /// The split as <c>x ≤ t</c>, for finite x: <c>x &lt; t</c> is <c>x ≤ prev(t)</c>, <c>x &gt; t</c> is
    /// not <c>x ≤ t</c>, <c>x ≥ t</c> is not <c>x ≤ prev(t)</c>. A NaN threshold fails every comparison: always right.
    /// </summary>
    private static (double Threshold, int Flip) AsLessOrEqual(string decisionType, double threshold)
    {
        if (double.IsNaN(threshold)) return (double.NegativeInfinity, 0);
        return decisionType switch
        {
            "lt" => (Math.BitDecrement(threshold), 0),
            "gt" => (threshold, 1),
            "gte" => (Math.BitDecrement(threshold), 1),
            _ => (threshold, 0),
        };
    }

    /// <summary>Ends building: the trees move into their flat arrays.</summary>
    public TreeForest Freeze()
    {
        nodeArray = [.. nodes];
        leafArray = [.. leafValues];
        nodes.Clear();
        leafValues.Clear();
        return this;
    }

    /// <summary>
    /// Follows the tree from <paramref name="root"/> to a leaf and returns its values. A feature that
    /// is missing (NaN) or not finite takes the node's default_left branch (TreeInferenceModel.InnerNode.compare).
    /// </summary>
    public ReadOnlySpan<double> Leaf(int root, int depth, ReadOnlySpan<double> features)
    {
        var all = nodeArray;
        var index = root;
        for (var step = 0; step < depth; step++) index = Step(all, index, features);
        return Values(index);
    }

    /// <summary>The leaf each tree ends at, walking eight trees at a time so their memory reads overlap.</summary>
    public void Leaves(ReadOnlySpan<int> roots, ReadOnlySpan<int> depths, ReadOnlySpan<double> features, Span<int> leaves)
    {
        var all = nodeArray;
        var i = 0;
        for (; i + 8 <= roots.Length; i += 8)
        {
            int a = roots[i], b = roots[i + 1], c = roots[i + 2], d = roots[i + 3];
            int e = roots[i + 4], f = roots[i + 5], g = roots[i + 6], h = roots[i + 7];
            var steps = 0;
            for (var k = i; k < i + 8; k++) steps = Math.Max(steps, depths[k]);
            for (var step = 0; step < steps; step++)
            {
                a = Step(all, a, features);
                b = Step(all, b, features);
                c = Step(all, c, features);
                d = Step(all, d, features);
                e = Step(all, e, features);
                f = Step(all, f, features);
                g = Step(all, g, features);
                h = Step(all, h, features);
            }
            leaves[i] = a;
            leaves[i + 1] = b;
            leaves[i + 2] = c;
            leaves[i + 3] = d;
            leaves[i + 4] = e;
            leaves[i + 5] = f;
            leaves[i + 6] = g;
            leaves[i + 7] = h;
        }
        for (; i < roots.Length; i++)
        {
            var index = roots[i];
            for (var step = 0; step < depths[i]; step++) index = Step(all, index, features);
            leaves[i] = index;
        }
    }

    /// <summary>The values of the leaf at <paramref name="leaf"/>.</summary>
    public ReadOnlySpan<double> Values(int leaf)
    {
        ref readonly var node = ref nodeArray[leaf];
        return new ReadOnlySpan<double>(leafArray, node.LeafOffset, node.LeafLength);
    }

    private static int Step(FlatNode[] all, int index, ReadOnlySpan<double> features)
    {
        ref readonly var node = ref all[index];
        var x = features[node.Feature];
        var right = double.IsFinite(x) ? (x > node.Threshold ? 1 : 0) ^ node.Flip : node.MissingRight;
        return node.Child + right;
    }

    /// <summary>Children inside the tree and no node reachable twice, so evaluation always ends at a leaf.</summary>
    private static void CheckStructure(DecisionTree tree)
    {
        var count = tree.Nodes.Count;
        if (count == 0) throw Broken("[tree_structure] must not be empty");
        var visited = new bool[count];
        var pending = new Stack<int>();
        pending.Push(0);
        while (pending.Count > 0)
        {
            var index = pending.Pop();
            if (index < 0 || index >= count) throw Broken($"[tree] contains missing nodes [{index}]");
            if (visited[index]) throw Broken($"[tree] contains cycle at node {index}");
            visited[index] = true;
            var node = tree.Nodes[index];
            if (node.IsLeaf) continue;
            pending.Push(node.LeftChild);
            pending.Push(node.RightChild);
        }
    }

    private static ElasticsearchException Broken(string reason) => new(400, "status_exception", reason);
}
