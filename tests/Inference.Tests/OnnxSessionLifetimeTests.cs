using System.Diagnostics;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxSessionLifetimeTests
{
    [Fact]
    public async Task Concurrent_runs_on_one_shared_session_all_return_correct_results()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        const int tasks = 8, callsPerTask = 500;
        var inputs = Enumerable.Range(0, tasks).Select(t => TestInputs.Floats((t + 1) * 64, seed: 100 + t)).ToArray();
        var expected = inputs.Select((input, t) => TestOnnxModels.MlpReference(input, t + 1)).ToArray();

        var workers = Enumerable.Range(0, tasks).Select(t => Task.Run(() =>
        {
            int batch = t + 1;
            for (int call = 0; call < callsPerTask; call++)
            {
                float[] probs = session.Run(OnnxInput.Create("input", inputs[t], new long[] { batch, 64 }))[0].GetData<float>();
                TestInputs.AssertClose(expected[t], probs, 1e-5f);
            }

            return callsPerTask;
        }));

        int[] completed = await Task.WhenAll(workers);
        Assert.All(completed, count => Assert.Equal(callsPerTask, count));
    }

    [Fact]
    public void Run_after_dispose_throws_ObjectDisposedException()
    {
        var session = new OnnxSession(TestOnnxModels.Mlp());
        session.Dispose();
        session.Dispose(); // idempotent

        Assert.True(session.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => session.Run(OnnxInput.Create("input", new float[64], new long[] { 1, 64 })));
    }

    [Fact]
    public async Task Dispose_during_concurrent_runs_lets_every_call_finish_or_fail_cleanly()
    {
        var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] input = TestInputs.Floats(64, seed: 1);
        float[] expected = TestOnnxModels.MlpReference(input, 1);
        int calls = 0;
        var deadline = Stopwatch.StartNew();

        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                try
                {
                    float[] probs = session.Run(OnnxInput.Create("input", input, new long[] { 1, 64 }))[0].GetData<float>();
                    TestInputs.AssertClose(expected, probs, 1e-5f);
                    Interlocked.Increment(ref calls);
                }
                catch (ObjectDisposedException)
                {
                    return true;
                }
            }

            return false;
        })).ToArray();

        SpinWait.SpinUntil(() => Volatile.Read(ref calls) >= 2000, TimeSpan.FromSeconds(10));
        session.Dispose();
        bool[] sawDispose = await Task.WhenAll(workers);

        Assert.All(sawDispose, Assert.True);
    }

    [Fact]
    public void Thousands_of_create_and_dispose_cycles_do_not_crash()
    {
        byte[] model = TestOnnxModels.Mlp(inputs: 4, hidden: 8, outputs: 2);
        float[] input = [1f, 2f, 3f, 4f];
        var clock = Stopwatch.StartNew();
        int cycles = 0;
        while (cycles < 2000 && clock.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            using var session = new OnnxSession(model);
            if (cycles % 100 == 0)
            {
                Assert.Equal([1L, 2L], session.Run(OnnxInput.Create("input", input, new long[] { 1, 4 }))[0].Shape);
            }

            cycles++;
        }

        // About 2000 on an idle 2-core machine; the time cap keeps a loaded machine from dragging the
        // suite out, and the floor only guards against a loop that did nothing.
        Assert.True(cycles >= 100, $"only {cycles} cycles in {clock.Elapsed}");
    }

    [Fact]
    public void Cancelled_token_stops_the_run_before_it_starts()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            session.Run(OnnxInput.Create("input", new float[64], new long[] { 1, 64 }), cancellation.Token));
    }

    [Fact]
    public void Cancelling_during_a_long_run_terminates_it_and_the_session_keeps_working()
    {
        using var session = new OnnxSession(TestInputs.MediumModel.Value);
        const int batch = 4096; // about 40 GMAC, seconds of work: far longer than the wait below, yet terminated at the first node boundary after it
        float[] input = TestInputs.Floats(batch * 1024, seed: 4);
        using var cancellation = new CancellationTokenSource();
        // A thread of its own, not a pool timer: on a loaded machine (the whole suite runs at once) a timer may fire after the run ended.
        var canceller = new Thread(() =>
        {
            Thread.Sleep(20);
            cancellation.Cancel();
        });
        canceller.Start();

        var error = Assert.ThrowsAny<OperationCanceledException>(() =>
            session.Run(OnnxInput.Create("input", input, new long[] { batch, 1024 }), cancellation.Token));
        canceller.Join();

        Assert.Equal(cancellation.Token, error.CancellationToken);
        var inner = Assert.IsType<OnnxRuntimeException>(error.InnerException);
        Assert.Equal(1, inner.ErrorCode);
        using var live = new CancellationTokenSource();
        Assert.Single(session.Run(OnnxInput.Create("input", input.AsMemory(0, 1024), new long[] { 1, 1024 }), live.Token));
    }
}
