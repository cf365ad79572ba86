using System.Buffers;
using System.IO.Pipelines;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// A connection's output that passes the application's responses straight through (no copy) and holds what Kestrel
/// writes while no request is the application's, until the flush: if that is one whole head of Kestrel's refusal it goes
/// out rewritten with Elasticsearch's body (<see cref="KestrelRejections"/>), anything else as it was. Whether a write is
/// held is decided at the first write after a flush and kept until the next one. Kestrel writes to one connection's
/// output from one caller at a time.
/// </summary>
public sealed class RejectionRewritingWriter(PipeWriter inner, KestrelRejections rejections, RequestsInApplication requests) : PipeWriter
{
    /// <summary>A refusal's head is a few hundred bytes; more than this is not one, and goes on unheld.</summary>
    private const int MaxHeldBytes = 4096;

    private enum Mode { Undecided, PassThrough, Holding }

    private Mode _mode;
    private ArrayBufferWriter<byte>? _held;

    private bool Holding
    {
        get
        {
            if (_mode == Mode.Undecided) _mode = requests.Any ? Mode.PassThrough : Mode.Holding;
            return _mode == Mode.Holding;
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) =>
        Holding ? (_held ??= new ArrayBufferWriter<byte>(512)).GetMemory(sizeHint) : inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) =>
        Holding ? (_held ??= new ArrayBufferWriter<byte>(512)).GetSpan(sizeHint) : inner.GetSpan(sizeHint);

    public override void Advance(int bytes)
    {
        if (_mode != Mode.Holding)
        {
            inner.Advance(bytes);
            return;
        }
        _held!.Advance(bytes);
        if (_held.WrittenCount > MaxHeldBytes)
        {
            // Too long for a refusal: what is held goes out as it is, and the rest of this write straight through.
            inner.Write(_held.WrittenSpan);
            Release();
            _mode = Mode.PassThrough;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Holding) WriteHeld();
        _mode = Mode.Undecided;
        return inner.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes + (_held?.WrittenCount ?? 0);

    public override void Complete(Exception? exception = null)
    {
        if (_mode == Mode.Holding && exception is null) WriteHeld();
        Release();
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_mode == Mode.Holding && exception is null) WriteHeld();
        Release();
        return inner.CompleteAsync(exception);
    }

    private void WriteHeld()
    {
        var held = _held!.WrittenSpan;
        if (!held.IsEmpty) inner.Write(rejections.Rewrite(held) ?? held);
        // A connection refuses at most once; the buffer is not kept for another time.
        Release();
    }

    private void Release()
    {
        _held = null;
        _mode = Mode.Undecided;
    }
}
