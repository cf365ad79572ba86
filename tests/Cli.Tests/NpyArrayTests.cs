using System.Buffers.Binary;
using System.Text;
using TrainedModelsOrleans.Cli.Tensors;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

public class NpyArrayTests
{
    /// <summary>A .npy file as numpy.save writes it: magic, version, header length, a dict padded with spaces to 64 bytes, '\n', data.</summary>
    internal static byte[] Npy(string descr, string shape, byte[] data, bool fortran = false, byte major = 1)
    {
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        var prefix = major == 1 ? 10 : 12;
        var padded = dict.PadRight(((prefix + dict.Length + 1 + 63) / 64 * 64) - prefix - 1) + "\n";
        var file = new List<byte>();
        file.Add(0x93);
        file.AddRange("NUMPY"u8.ToArray());
        file.Add(major);
        file.Add(0);
        if (major == 1) file.AddRange(BitConverter.GetBytes((ushort)padded.Length));
        else file.AddRange(BitConverter.GetBytes((uint)padded.Length));
        file.AddRange(Encoding.Latin1.GetBytes(padded));
        file.AddRange(data);
        Assert.Equal(0, (prefix + padded.Length) % 64);
        return file.ToArray();
    }

    internal static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void Float32_in_c_order_keeps_its_shape_and_values()
    {
        var array = NpyArray.Parse(Npy("<f4", "(2, 3)", Floats(1, 2, 3, 4, 5, 6.5f)));
        Assert.Equal([2L, 3L], array.Shape);
        Assert.Equal("float32", array.ElementType);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6.5f }, (float[])array.Data);
        Assert.Equal("""{"shape":[2,3],"data":[1,2,3,4,5,6.5]}""", array.ToTensorJson().ToJsonString());
    }

    [Fact]
    public void Float64_and_int64_are_read()
    {
        var doubles = new[] { 0.1, -2.5 }.SelectMany(BitConverter.GetBytes).ToArray();
        Assert.Equal(new[] { 0.1, -2.5 }, (double[])NpyArray.Parse(Npy("<f8", "(2,)", doubles)).Data);
        var longs = new long[] { 7, -1, long.MaxValue }.SelectMany(BitConverter.GetBytes).ToArray();
        var array = NpyArray.Parse(Npy("<i8", "(1, 3)", longs));
        Assert.Equal(new long[] { 7, -1, long.MaxValue }, (long[])array.Data);
        Assert.Equal("int64", array.ElementType);
    }

    [Fact]
    public void Version_2_headers_and_scalars_are_read()
    {
        var array = NpyArray.Parse(Npy("<f4", "()", Floats(42), major: 2));
        Assert.Empty(array.Shape);
        Assert.Equal(new float[] { 42 }, (float[])array.Data);
    }

    [Theory]
    [InlineData("<f4", "(2, 2)", true, "Fortran order")]
    [InlineData(">f4", "(4,)", false, "big-endian")]
    [InlineData("<i4", "(4,)", false, "not supported")]
    public void Layouts_it_cannot_send_are_refused_saying_why(string descr, string shape, bool fortran, string why)
    {
        var error = Assert.Throws<FormatException>(() => NpyArray.Parse(Npy(descr, shape, new byte[16], fortran)));
        Assert.Contains(why, error.Message);
    }

    [Fact]
    public void A_file_shorter_than_its_shape_or_without_the_magic_is_refused()
    {
        Assert.Contains("the shape needs 16", Assert.Throws<FormatException>(() => NpyArray.Parse(Npy("<f4", "(4,)", Floats(1, 2)))).Message);
        Assert.Contains("magic", Assert.Throws<FormatException>(() => NpyArray.Parse("PK\x03\x04 not npy at all"u8)).Message);
    }

    [Fact]
    public void Header_length_is_little_endian()
    {
        var file = Npy("<f4", "(1,)", Floats(3));
        Assert.Equal(118, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8)));
    }
}
