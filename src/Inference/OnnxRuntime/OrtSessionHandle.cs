using System.Runtime.InteropServices;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// Owns an OrtSession and the native UTF-8 copies of its input and output names. Being a SafeHandle,
/// it is reference-counted: a Run holds a reference, so Dispose during a Run releases the session
/// only when that Run returns, and a forgotten session is still released by the finalizer.
/// </summary>
internal sealed unsafe class OrtSessionHandle : SafeHandle
{
    public OrtSessionHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public void* Session => (void*)handle;

    /// <summary>One native block: input name pointers, output name pointers, then the NUL-terminated names.</summary>
    public void* NamesBlock { get; private set; }

    public byte** InputNames { get; private set; }

    public byte** OutputNames { get; private set; }

    public void Attach(void* session) => SetHandle((nint)session);

    public void AttachNames(IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        int pointers = inputs.Count + outputs.Count;
        nuint bytes = (nuint)(pointers * sizeof(nint));
        foreach (string name in inputs.Concat(outputs))
        {
            bytes += (nuint)System.Text.Encoding.UTF8.GetByteCount(name) + 1;
        }

        byte* block = (byte*)NativeMemory.AllocZeroed(Math.Max(bytes, 1));
        NamesBlock = block;
        byte** table = (byte**)block;
        byte* text = block + (pointers * sizeof(nint));
        byte* end = block + bytes;
        int slot = 0;
        foreach (string name in inputs.Concat(outputs))
        {
            table[slot++] = text;
            int written = System.Text.Encoding.UTF8.GetBytes(name, new Span<byte>(text, (int)(end - text)));
            text[written] = 0;
            text += written + 1;
        }

        InputNames = table;
        OutputNames = table + inputs.Count;
    }

    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api.ReleaseSession((void*)handle);
        NativeMemory.Free(NamesBlock);
        NamesBlock = null;
        return true;
    }
}
