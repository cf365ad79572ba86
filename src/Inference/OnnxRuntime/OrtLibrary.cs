using System.Runtime.InteropServices;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// The process-wide ONNX Runtime: the native library, its API table, and the one environment
/// every session uses (ORT makes the env a process singleton anyway). Loaded on first use.
/// </summary>
public static unsafe class OrtLibrary
{
    /// <summary>Environment variable naming the library file (or the folder holding it); wins over the copy next to the app.</summary>
    public const string PathVariable = "TMO_ONNXRUNTIME_PATH";

    /// <summary>The file name the npm package ships (there is no libonnxruntime.so).</summary>
    public const string LibraryFileName = "libonnxruntime.so.1";

    private static readonly Lock Gate = new();
    private static volatile Runtime? _runtime;

    /// <summary>ONNX Runtime's version, e.g. "1.30.0". Loads the library if needed.</summary>
    public static string VersionString => Load().Version;

    /// <summary>The absolute path the library was loaded from, or null when not loaded yet.</summary>
    public static string? LoadedPath => _runtime?.Path;

    /// <summary>Loads the library and creates the environment; false with a reason when that is impossible.</summary>
    public static bool TryLoad(out string? error)
    {
        try
        {
            Load();
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or OnnxRuntimeException or EntryPointNotFoundException or BadImageFormatException)
        {
            error = e.Message;
            return false;
        }
    }

    internal static OrtApi Api => Load().Api;

    internal static Runtime Load() => _runtime ?? LoadSlow();

    private static Runtime LoadSlow()
    {
        lock (Gate)
        {
            return _runtime ??= Runtime.Create();
        }
    }

    /// <summary>Where we look, in order: the env var, the app folder, this assembly's folder.</summary>
    internal static IReadOnlyList<string> CandidatePaths()
    {
        var candidates = new List<string>();
        string? fromEnv = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            candidates.Add(Directory.Exists(fromEnv) ? Path.Combine(fromEnv, LibraryFileName) : fromEnv);
        }

        candidates.Add(Path.Combine(AppContext.BaseDirectory, LibraryFileName));
        string? assemblyDirectory = Path.GetDirectoryName(typeof(OrtLibrary).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDirectory))
        {
            candidates.Add(Path.Combine(assemblyDirectory, LibraryFileName));
        }

        return candidates.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
    }

    internal sealed class Runtime
    {
        private Runtime(string path, string version, OrtApi api, void* env, void* cpuMemoryInfo, void* defaultAllocator)
        {
            Path = path;
            Version = version;
            Api = api;
            Env = env;
            CpuMemoryInfo = cpuMemoryInfo;
            DefaultAllocator = defaultAllocator;
        }

        public string Path { get; }

        public string Version { get; }

        public OrtApi Api { get; }

        /// <summary>Lives for the whole process; sessions must be released before it, so it never is.</summary>
        public void* Env { get; }

        /// <summary>Describes caller-owned CPU buffers handed to CreateTensorWithDataAsOrtValue.</summary>
        public void* CpuMemoryInfo { get; }

        /// <summary>Allocates the name strings ORT returns; must never be released.</summary>
        public void* DefaultAllocator { get; }

        public static Runtime Create()
        {
            var (path, handle) = LoadNative();
            var getApiBase = (delegate* unmanaged<void**>)NativeLibrary.GetExport(handle, "OrtGetApiBase");
            void** apiBase = getApiBase();

            // OrtApiBase is two function pointers: GetApi(uint version) and GetVersionString().
            var getApi = (delegate* unmanaged<uint, void**>)apiBase[0];
            var getVersionString = (delegate* unmanaged<byte*>)apiBase[1];
            string version = Marshal.PtrToStringUTF8((nint)getVersionString()) ?? "unknown";
            void** table = getApi(OrtApi.ApiVersion);
            if (table == null)
            {
                throw new DllNotFoundException(
                    $"ONNX Runtime at {path} is version {version}, which does not offer API version {OrtApi.ApiVersion} (1.30 or newer is needed).");
            }

            var api = new OrtApi(table);
            void* env = null;
            void* memoryInfo = null;
            void* allocator = null;
            fixed (byte* logId = "TrainedModelsOrleans"u8)
            {
                // Severity 4 (fatal only): errors reach us as statuses; at 3 ORT also prints kernel failures to stderr.
                api.Check(api.CreateEnv(4, logId, &env), "Creating the ONNX Runtime environment");
            }

            // OrtArenaAllocator = 1, OrtMemTypeDefault = 0.
            api.Check(api.CreateCpuMemoryInfo(1, 0, &memoryInfo), "Creating the CPU memory info");
            api.Check(api.GetAllocatorWithDefaultOptions(&allocator), "Getting the default allocator");
            return new Runtime(path, version, api, env, memoryInfo, allocator);
        }

        private static (string Path, nint Handle) LoadNative()
        {
            var tried = new List<string>();
            foreach (string candidate in CandidatePaths())
            {
                if (!File.Exists(candidate))
                {
                    tried.Add($"{candidate} (missing)");
                    continue;
                }

                try
                {
                    return (candidate, NativeLibrary.Load(candidate));
                }
                catch (DllNotFoundException e)
                {
                    tried.Add($"{candidate} ({e.Message})");
                }
            }

            throw new DllNotFoundException(
                $"Could not load ONNX Runtime ({LibraryFileName}). The build copies it next to the app from the repo cache; " +
                $"set {PathVariable} to use another copy. Tried: {string.Join("; ", tried)}.");
        }
    }
}
