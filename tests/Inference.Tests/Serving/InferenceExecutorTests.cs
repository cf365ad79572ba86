using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Inference.Tests.Serving;

public sealed class InferenceExecutorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    // Callers here block pool threads inside the fake model; enough threads must exist for the bounds to be reached.
    static InferenceExecutorTests() => ThreadPool.SetMinThreads(Math.Max(16, Environment.ProcessorCount), Math.Max(16, Environment.ProcessorCount));

    private static Tensor Row(float value, int width = 4) => Tensor.Of("x", Enumerable.Repeat(value, width).ToArray(), 1, width);

    /// <summary>A model that doubles its input, counting runs, rows and concurrency; optionally slow or gated, and stopped by its token.</summary>
    private sealed class FakeModel(int delayMs = 0, ManualResetEventSlim? gate = null)
    {
        private int _concurrent;
        public int MaxConcurrent;
        public int Runs;
        public int MaxRows;

        public Tensor[] Run(IReadOnlyList<Tensor> inputs, CancellationToken terminated)
        {
            var now = Interlocked.Increment(ref _concurrent);
            InterlockedMax(ref MaxConcurrent, now);
            Interlocked.Increment(ref Runs);
            InterlockedMax(ref MaxRows, (int)inputs[0].Rows);
            try
            {
                gate?.Wait(TimeSpan.FromSeconds(20), terminated);
                if (delayMs > 0) Thread.Sleep(delayMs);
                terminated.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                Interlocked.Decrement(ref _concurrent);
                throw;
            }
            var x = inputs[0].AsSpan<float>().ToArray();
            if (x.Any(float.IsNaN)) { Interlocked.Decrement(ref _concurrent); throw new ArgumentException("NaN input"); }
            Interlocked.Decrement(ref _concurrent);
            return [new Tensor("y", OnnxElementType.Float, inputs[0].Shape, x.Select(v => v * 2).ToArray())];
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
        }
    }

    [Fact]
    public async Task Never_runs_more_than_its_allocations_at_once_and_answers_every_request()
    {
        var model = new FakeModel(delayMs: 2);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 2, QueueCapacity = 1000 }, batchable: false);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(() => executor.RunAsync([Row(i)], Bound)))).WaitAsync(Bound);

        Assert.Equal(2, model.MaxConcurrent);
        for (var i = 0; i < 200; i++) Assert.Equal(i * 2, results[i][0].GetData<float>()[0]);
        Assert.Equal(200, executor.Statistics.Snapshot(executor.Pending).InferenceCount);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_and_counts_the_rejection()
    {
        using var gate = new ManualResetEventSlim(false);
        var model = new FakeModel(gate: gate);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1, QueueCapacity = 2 }, batchable: false);
        var running = Task.Run(() => executor.RunAsync([Row(1)], Bound));
        while (Volatile.Read(ref model.Runs) == 0) await Task.Delay(1);
        var queued = new[] { executor.RunAsync([Row(2)], Bound), executor.RunAsync([Row(3)], Bound) };

        await Assert.ThrowsAsync<QueueFullException>(() => executor.RunAsync([Row(4)], Bound));
        Assert.Equal(1, executor.Statistics.Snapshot(0).RejectedExecutionCount);
        gate.Set();
        await running;
        await Task.WhenAll(queued).WaitAsync(Bound);
        Assert.Equal(3, model.Runs);
    }

    [Fact]
    public async Task Queued_requests_of_one_shape_run_as_one_batch_and_each_caller_gets_its_own_rows()
    {
        var model = new FakeModel(delayMs: 5);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 16 }, batchable: true);
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => executor.RunAsync([Row(i)], Bound)))).WaitAsync(Bound);

        for (var i = 0; i < 64; i++) Assert.All(results[i][0].GetData<float>(), v => Assert.Equal(i * 2, v));
        Assert.True(model.MaxRows > 1, "queued requests should have been stacked");
        Assert.True(model.MaxRows <= 16);
        Assert.True(model.Runs < 64);
    }

    [Fact]
    public async Task The_docs_of_one_call_go_to_the_model_as_one_batch_per_shape_and_each_gets_its_own_rows()
    {
        var model = new FakeModel();
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 16 }, batchable: true);
        Tensor[][] docs = [[Row(1)], [Row(2)], [Row(3, width: 8)], [Row(4)], [Row(5)]];

        // From a plain pool thread, as the HTTP front door calls it: nothing else queued, an allocation free.
        var results = await Task.WhenAll(await Task.Run(() => executor.RunAllAsync(docs, Bound))).WaitAsync(Bound);

        Assert.Equal([2f, 4f, 6f, 8f, 10f], results.Select(r => r[0].GetData<float>()[0]));
        Assert.Equal(8, results[2][0].GetData<float>().Length);
        Assert.Equal(2, model.Runs); // the four 4-wide docs stacked, the 8-wide one alone
        Assert.Equal(4, model.MaxRows);
        Assert.Equal(5, executor.Statistics.Snapshot(pending: 0).InferenceCount);
    }

    [Fact]
    public async Task Requests_queued_from_inside_an_actor_turn_share_runs_and_are_each_counted()
    {
        // A grain's turn runs on its own scheduler: the executor queues the request and schedules a run on the
        // pool, which takes everything queued by then; no wait is configured.
        var model = new FakeModel(delayMs: 2);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 2, MaxBatchSize = 32 }, batchable: true);
        var turn = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        var submitted = await Task.Factory.StartNew(
            () => Enumerable.Range(0, 64).Select(i => executor.RunAsync([Row(i)], Bound)).ToArray(),
            CancellationToken.None, TaskCreationOptions.None, turn);
        var results = await Task.WhenAll(submitted).WaitAsync(Bound);

        for (var i = 0; i < 64; i++) Assert.All(results[i][0].GetData<float>(), v => Assert.Equal(i * 2, v));
        Assert.True(model.Runs <= 8, $"64 requests queued at once should share a few runs, not {model.Runs}");
        Assert.True(model.MaxConcurrent <= 2);
        var stats = executor.Statistics.Snapshot(executor.Pending);
        Assert.Equal(64, stats.InferenceCount);
        Assert.Equal(0, stats.PendingRequests);
    }

    [Fact]
    public async Task Requests_of_different_shapes_are_not_stacked_and_a_bad_one_does_not_fail_its_neighbours()
    {
        using var gate = new ManualResetEventSlim(false);
        var model = new FakeModel(gate: gate);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 16 }, batchable: true);
        var blocker = Task.Run(() => executor.RunAsync([Row(0)], Bound));
        while (Volatile.Read(ref model.Runs) == 0) await Task.Delay(1);
        var narrow = executor.RunAsync([Row(1, width: 4)], Bound);
        var wide = executor.RunAsync([Row(2, width: 8)], Bound);
        var bad = executor.RunAsync([Row(float.NaN)], Bound);
        var good = executor.RunAsync([Row(3)], Bound);
        gate.Set();
        await blocker;

        var narrowShape = (await narrow)[0].Shape;
        var wideShape = (await wide)[0].Shape;
        Assert.Equal(new long[] { 1, 4 }, narrowShape);
        Assert.Equal(new long[] { 1, 8 }, wideShape);
        await Assert.ThrowsAsync<ArgumentException>(() => bad);
        Assert.Equal(6f, (await good)[0].GetData<float>()[0]);
        Assert.Equal(1, executor.Statistics.Snapshot(0).ErrorCount);
    }

    [Fact]
    public async Task Stacked_runs_answer_each_caller_exactly_as_a_run_of_its_own_whatever_its_row_count()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        var maxRows = 0L;
        Tensor[] Run(IReadOnlyList<Tensor> inputs, CancellationToken terminated)
        {
            lock (session) maxRows = Math.Max(maxRows, inputs[0].Rows);
            return session.Run(inputs.Select(t => t.ToInput()).ToArray(), terminated).Select(Tensor.FromOutput).ToArray();
        }
        var alone = new InferenceExecutor(Run, new ExecutorOptions { Allocations = 1 }, batchable: false);
        var stacked = new InferenceExecutor(Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 8 }, batchable: true);
        var random = new Random(11);
        // 1 to 5 rows each, so batches differ in length and reuse pooled buffers longer than themselves.
        var requests = Enumerable.Range(0, 48).Select(i =>
        {
            var rows = 1 + (i * 7 % 5);
            return Tensor.Of("input", Enumerable.Range(0, rows * 64).Select(_ => (float)random.NextDouble()).ToArray(), rows, 64);
        }).ToArray();

        var turn = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        var submitted = await Task.Factory.StartNew(
            () => requests.Select(r => stacked.RunAsync([r], Bound)).ToArray(), CancellationToken.None, TaskCreationOptions.None, turn);
        var batched = await Task.WhenAll(submitted).WaitAsync(Bound);
        Assert.True(maxRows > 5, "queued requests should have been stacked");

        for (var i = 0; i < requests.Length; i++)
        {
            var own = await alone.RunAsync([requests[i]], Bound).WaitAsync(Bound);
            Assert.Equal(own[0].Shape, batched[i][0].Shape);
            Assert.Equal(own[0].GetData<float>(), batched[i][0].GetData<float>());
        }
    }

    /// <summary>Counts rented buffers and notes any given back twice or never rented.</summary>
    private sealed class CountedBuffers : TensorBuffers
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Array, byte> _out = new(ReferenceEqualityComparer.Instance);
        public int Rented;
        public int Mistakes;
        public int Outstanding => _out.Count;

        public override Array Rent(Array like, int length)
        {
            var buffer = base.Rent(like, length);
            if (!_out.TryAdd(buffer, 0)) Interlocked.Increment(ref Mistakes);
            Interlocked.Increment(ref Rented);
            return buffer;
        }

        public override void Return(Array buffer)
        {
            if (!_out.TryRemove(buffer, out _)) Interlocked.Increment(ref Mistakes);
            base.Return(buffer);
        }
    }

    [Fact]
    public async Task Stacked_input_buffers_go_back_to_the_pool_after_a_run_that_answers_throws_or_is_terminated()
    {
        using var gate = new ManualResetEventSlim(true);
        var model = new FakeModel(gate: gate);
        var buffers = new CountedBuffers();
        var executor = new InferenceExecutor(
            model.Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 4, MaxBatchWait = TimeSpan.FromMilliseconds(10) }, batchable: true, buffers);
        var turn = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        Task<Task<Tensor[]>[]> Submit(float[] values, TimeSpan timeout) => Task.Factory.StartNew(
            () => values.Select(v => executor.RunAsync([Row(v)], timeout)).ToArray(), CancellationToken.None, TaskCreationOptions.None, turn);

        // Answers: one stacked run.
        var answered = await Task.WhenAll(await Submit([1, 2, 3], Bound)).WaitAsync(Bound);
        Assert.Equal([2f, 4f, 6f], answered.Select(r => r[0].GetData<float>()[0]));
        Assert.Equal(1, model.Runs);

        // Throws: the stacked run fails on the NaN, then each request runs alone.
        var mixed = await Submit([4, float.NaN, 5], Bound);
        Assert.Equal(8f, (await mixed[0].WaitAsync(Bound))[0].GetData<float>()[0]);
        await Assert.ThrowsAsync<ArgumentException>(() => mixed[1].WaitAsync(Bound));
        Assert.Equal(10f, (await mixed[2].WaitAsync(Bound))[0].GetData<float>()[0]);
        Assert.Equal(5, model.Runs);

        // Terminated: every caller timed out while the run waited at the gate.
        gate.Reset();
        foreach (var request in await Submit([6, 7, 8], TimeSpan.FromMilliseconds(100)))
            await Assert.ThrowsAsync<InferenceTimeoutException>(() => request.WaitAsync(Bound));
        gate.Set();
        Assert.Equal(14f, (await executor.RunAsync([Row(7)], Bound).WaitAsync(Bound))[0].GetData<float>()[0]);
        Assert.Equal(7, model.Runs);

        Assert.Equal(3, buffers.Rented);
        Assert.Equal(0, buffers.Outstanding);
        Assert.Equal(0, buffers.Mistakes);
    }

    [Fact]
    public async Task A_request_that_waits_past_its_timeout_fails_and_is_not_run()
    {
        using var gate = new ManualResetEventSlim(false);
        var model = new FakeModel(gate: gate);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1 }, batchable: false);
        var blocker = Task.Run(() => executor.RunAsync([Row(0)], Bound));
        while (Volatile.Read(ref model.Runs) == 0) await Task.Delay(1);

        var error = await Assert.ThrowsAsync<InferenceTimeoutException>(() => executor.RunAsync([Row(1)], TimeSpan.FromMilliseconds(100)));
        Assert.Equal("timeout [100ms] waiting for inference result", error.Message);
        gate.Set();
        await blocker;
        await Task.Delay(50);
        Assert.Equal(1, model.Runs);
        Assert.Equal(1, executor.Statistics.Snapshot(0).TimeoutCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Stop_with_finish_pending_work_drains_the_queue_and_without_it_fails_queued_requests_clearly(bool finish)
    {
        {
            using var gate = new ManualResetEventSlim(false);
            var model = new FakeModel(gate: gate);
            var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1 }, batchable: false);
            var blocker = Task.Run(() => executor.RunAsync([Row(0)], Bound));
            while (Volatile.Read(ref model.Runs) == 0) await Task.Delay(1);
            var queued = Enumerable.Range(1, 5).Select(i => executor.RunAsync([Row(i)], Bound)).ToArray();

            var stopping = executor.StopAsync(finish);
            await Assert.ThrowsAsync<ExecutorStoppedException>(() => executor.RunAsync([Row(9)], Bound));
            gate.Set();
            await stopping.WaitAsync(Bound);
            await blocker;
            if (finish)
            {
                Assert.Equal(Enumerable.Range(1, 5).Select(i => i * 2f), (await Task.WhenAll(queued)).Select(r => r[0].GetData<float>()[0]));
            }
            else
            {
                foreach (var request in queued)
                {
                    var error = await Assert.ThrowsAsync<ExecutorStoppedException>(() => request);
                    Assert.Contains("finish_pending_work", error.Message);
                }
            }
        }
    }

    [Fact]
    public async Task Cached_results_are_served_without_a_run_and_the_cache_stays_within_its_bytes()
    {
        var model = new FakeModel();
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { CacheSizeBytes = 1024 }, batchable: false);
        for (var i = 0; i < 3; i++) Assert.Equal(2f, (await executor.RunAsync([Row(1)], Bound))[0].GetData<float>()[0]);
        Assert.Equal(1, model.Runs);
        var stats = executor.Statistics.Snapshot(0);
        Assert.Equal(3, stats.InferenceCount);
        Assert.Equal(2, stats.CacheHitCount);

        for (var i = 0; i < 100; i++) await executor.RunAsync([Row(i + 10)], Bound);
        var cache = new ResultCache(1024);
        for (var i = 0; i < 100; i++) cache.Add(ResultCache.KeyOf([Row(i)]), [Row(i)]);
        Assert.True(cache.SizeBytes <= 1024);
        Assert.True(cache.TryGet(ResultCache.KeyOf([Row(99)]), out _));
        Assert.False(cache.TryGet(ResultCache.KeyOf([Row(0)]), out _));
    }

    [Fact]
    public async Task Resize_changes_how_many_runs_go_at_once()
    {
        var model = new FakeModel(delayMs: 3);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1 }, batchable: false);
        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => executor.RunAsync([Row(i)], Bound)))).WaitAsync(Bound);
        Assert.Equal(1, model.MaxConcurrent);
        executor.Resize(3);
        await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(() => executor.RunAsync([Row(i)], Bound)))).WaitAsync(Bound);
        Assert.Equal(3, model.MaxConcurrent);
    }

    [Fact]
    public async Task Batched_onnx_runs_equal_the_reference_for_every_caller()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        var executor = new InferenceExecutor(
            (inputs, terminated) => session.Run(inputs.Select(t => t.ToInput()).ToArray(), terminated).Select(Tensor.FromOutput).ToArray(),
            new ExecutorOptions { Allocations = 2, MaxBatchSize = 32, MaxBatchWait = TimeSpan.FromMilliseconds(1) }, batchable: true);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var results = await Task.WhenAll(rows.Select(row => Task.Run(() => executor.RunAsync([Tensor.Of("input", row, 1, 64)], Bound)))).WaitAsync(Bound);

        for (var i = 0; i < rows.Length; i++)
        {
            var expected = TestOnnxModels.MlpReference(rows[i], 1);
            var actual = results[i][0].GetData<float>();
            for (var j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 1e-5f);
        }
    }

    [Fact]
    public async Task A_run_whose_request_timed_out_is_terminated_and_frees_its_only_allocation_at_once()
    {
        using var session = new OnnxSession(SlowChain.Value);
        var runs = 0;
        var executor = new InferenceExecutor(
            (inputs, terminated) =>
            {
                Interlocked.Increment(ref runs);
                return session.Run(inputs.Select(t => t.ToInput()).ToArray(), terminated).Select(Tensor.FromOutput).ToArray();
            },
            new ExecutorOptions { Allocations = 1 }, batchable: false);
        var slow = Task.Run(() => executor.RunAsync([Tensor.Of("input", new float[SlowRows * ChainWidth], SlowRows, ChainWidth)], TimeSpan.FromMilliseconds(200)));
        await WaitUntil(() => Volatile.Read(ref runs) == 1);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var row = Enumerable.Range(0, ChainWidth).Select(i => (float)i).ToArray();
        var next = await executor.RunAsync([Tensor.Of("input", row, 1, ChainWidth)], Bound).WaitAsync(Bound);
        clock.Stop();

        // Run to its end the slow run takes about 13 s; terminated, it frees the allocation after its timeout, a sweep and one node.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the next request waited {clock.Elapsed}");
        Assert.Equal(row, next[0].GetData<float>());
        await Assert.ThrowsAsync<InferenceTimeoutException>(() => slow.WaitAsync(Bound));
        var stats = executor.Statistics.Snapshot(executor.Pending);
        Assert.Equal(1, stats.TimeoutCount);
        Assert.Equal(0, stats.ErrorCount);
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task A_terminated_stacked_run_is_not_run_again_one_by_one()
    {
        using var gate = new ManualResetEventSlim(false);
        var model = new FakeModel(gate: gate);
        var executor = new InferenceExecutor(
            model.Run, new ExecutorOptions { Allocations = 1, MaxBatchSize = 3, MaxBatchWait = TimeSpan.FromMilliseconds(10) }, batchable: true);
        var turn = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;
        var gaveUp = await Task.Factory.StartNew(
            () => Enumerable.Range(0, 3).Select(i => executor.RunAsync([Row(i)], TimeSpan.FromMilliseconds(100))).ToArray(),
            CancellationToken.None, TaskCreationOptions.None, turn);

        foreach (var request in gaveUp) await Assert.ThrowsAsync<InferenceTimeoutException>(() => request.WaitAsync(Bound));
        var next = Task.Run(() => executor.RunAsync([Row(7)], Bound));
        // The gate is still shut (the fake would wait 20 s): only termination frees the allocation this soon.
        await WaitUntil(() => Volatile.Read(ref model.Runs) >= 2, within: TimeSpan.FromSeconds(5));
        gate.Set();

        Assert.Equal(14f, (await next.WaitAsync(Bound))[0].GetData<float>()[0]);
        Assert.Equal(3, model.MaxRows);
        Assert.Equal(2, model.Runs); // the stacked run and the next request's: none one by one

        var stats = executor.Statistics.Snapshot(executor.Pending);
        Assert.Equal(3, stats.TimeoutCount);
        Assert.Equal(0, stats.ErrorCount);
    }

    [Fact]
    public async Task A_run_is_terminated_when_its_caller_cancels_and_not_before()
    {
        using var gate = new ManualResetEventSlim(false);
        var model = new FakeModel(gate: gate);
        var executor = new InferenceExecutor(model.Run, new ExecutorOptions { Allocations = 1 }, batchable: false);
        using var caller = new CancellationTokenSource();
        var cancelled = Task.Run(() => executor.RunAsync([Row(1)], Bound, caller.Token));
        await WaitUntil(() => Volatile.Read(ref model.Runs) == 1);
        var next = executor.RunAsync([Row(2)], Bound);

        await Task.Delay(150);
        Assert.Equal(1, model.Runs); // sweeps leave a run alone while its caller waits
        caller.Cancel();
        // The gate is still shut (the fake would wait 20 s): only termination frees the allocation this soon.
        await WaitUntil(() => Volatile.Read(ref model.Runs) == 2, within: TimeSpan.FromSeconds(5));
        gate.Set();

        Assert.Equal(4f, (await next.WaitAsync(Bound))[0].GetData<float>()[0]);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Bound));
        Assert.Equal(0, executor.Statistics.Snapshot(executor.Pending).ErrorCount);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan? within = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < (within ?? Bound), $"condition not reached within {within ?? Bound}");
            await Task.Delay(1);
        }
    }

    private const int ChainWidth = 256;
    private const int SlowRows = 8192; // about 13 s through the chain on the 2-core dev machine, 13 ms a node
    private static readonly Lazy<byte[]> SlowChain = new(() => TestOnnxModels.IdentityChain(ChainWidth, depth: 1000));
}
