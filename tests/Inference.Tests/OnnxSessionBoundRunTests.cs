using System.Buffers;
using System.Runtime.InteropServices;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

/// <summary>Small runs go through bindings kept per shape (BoundRun): each run must still see only its own data.</summary>
public class OnnxSessionBoundRunTests
{
    [Fact]
    public void Runs_of_more_shapes_than_the_session_keeps_bindings_for_each_get_their_own_outputs()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        // 40 batch sizes, three times over: bindings are made, kept, reused and replaced (32 are kept).
        for (int pass = 0; pass < 3; pass++)
        {
            for (int batch = 1; batch <= 40; batch++)
            {
                float[] input = TestInputs.Floats(batch * 64, seed: pass * 100 + batch);
                OnnxOutput probs = session.Run(OnnxInput.Create("input", input, new long[] { batch, 64 }))[0];
                Assert.Equal([batch, 8L], probs.Shape);
                TestInputs.AssertClose(TestOnnxModels.MlpReference(input, batch), probs.GetData<float>(), 1e-5f);
            }
        }
    }

    [Fact]
    public void Outputs_of_a_run_are_its_own_after_the_next_run_of_the_same_shape()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] first = TestInputs.Floats(64, seed: 1), second = TestInputs.Floats(64, seed: 2);

        float[] firstOutputs = session.Run(OnnxInput.Create("input", first, new long[] { 1, 64 }))[0].GetData<float>().ToArray();
        OnnxOutput kept = session.Run(OnnxInput.Create("input", first, new long[] { 1, 64 }))[0];
        session.Run(OnnxInput.Create("input", second, new long[] { 1, 64 }));

        Assert.Equal(firstOutputs, kept.GetData<float>().ToArray());
        Assert.NotEqual(firstOutputs, TestOnnxModels.MlpReference(second, 1));
    }

    [Fact]
    public void Concurrent_runs_of_one_shape_never_see_each_others_inputs_or_outputs()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[][] inputs = [.. Enumerable.Range(0, 4).Select(seed => TestInputs.Floats(64, seed))];
        float[][] expected = [.. inputs.Select(input => TestOnnxModels.MlpReference(input, 1))];
        var deadline = DateTime.UtcNow.AddSeconds(20);

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            for (int i = 0; i < 2_000 && DateTime.UtcNow < deadline; i++)
            {
                int which = (worker + i) % inputs.Length;
                OnnxOutput probs = session.Run(OnnxInput.Create("input", inputs[which], new long[] { 1, 64 }))[0];
                TestInputs.AssertClose(expected[which], probs.GetData<float>(), 1e-5f);
            }
        });
    }

    [Fact]
    public void Input_held_by_a_memory_manager_is_read_at_its_offset()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] buffer = TestInputs.Floats(3 * 64, seed: 9);
        using var manager = new ArrayMemoryManager(buffer);

        OnnxOutput probs = session.Run(OnnxInput.Create("input", manager.Memory.Slice(64, 64), new long[] { 1, 64 }))[0];

        TestInputs.AssertClose(TestOnnxModels.MlpReference(buffer[64..128], 1), probs.GetData<float>(), 1e-5f);
    }

    /// <summary>Memory that is not an array as far as ReadOnlyMemory can tell (e.g. pooled native memory).</summary>
    private sealed class ArrayMemoryManager(float[] array) : MemoryManager<float>
    {
        private GCHandle _handle;

        public override Span<float> GetSpan() => array;

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            _handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((float*)_handle.AddrOfPinnedObject() + elementIndex, _handle, this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
