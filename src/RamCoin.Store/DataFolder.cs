namespace RamCoin.Store;

/// <summary>
/// The store's data folder, locked for as long as the store runs: two stores on one folder would each truncate the
/// other's writes. Says whether it can take writes now.
/// </summary>
internal sealed class DataFolder : IDisposable
{
    /// <summary>The file in the data folder that a running store holds locked (an exclusive flock on Linux).</summary>
    public const string LockFileName = "ramcoin-store.lock";

    private readonly FileStream _lock;

    private DataFolder(string path, FileStream lockFile) => (Path, _lock) = (path, lockFile);

    public string Path { get; }

    /// <summary>Creates the folder if needed, proves it writable and locks it.</summary>
    /// <exception cref="InvalidOperationException">The folder cannot be created or written (exit 1).</exception>
    /// <exception cref="OptionsValidationException">Another store holds the folder: a bad setting (exit 2).</exception>
    public static DataFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(full);
            ProbeWrite(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"data directory '{full}' is not usable: {ex.Message}", ex);
        }

        var lockPath = System.IO.Path.Combine(full, LockFileName);
        try
        {
            // No sharing: .NET takes an exclusive flock, which the kernel releases if the process dies.
            return new DataFolder(full, new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new OptionsValidationException(EmbeddedStoreOptions.DataDirSetting, typeof(EmbeddedStoreOptions),
                [$"{EmbeddedStoreOptions.DataDirSetting}: the data directory '{full}' is in use by another store ({lockPath} is locked); stop that store or choose another folder."]);
        }
    }

    /// <summary>The append-only file's segments on disk (Garnet keeps them in the data folder's AOF directory).</summary>
    public long AofBytes()
    {
        var folder = System.IO.Path.Combine(Path, "AOF");
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("aof.log.*").Sum(f => f.Length) : 0;
        }
        catch (IOException)
        {
            return 0; // a segment removed while counted: the next check counts again
        }
    }

    /// <summary>
    /// Why the folder cannot take writes now (under <paramref name="minFreeBytes"/> free, or not writable), or null;
    /// <paramref name="probe"/> also writes a small file, which a read-only folder refuses.
    /// </summary>
    public string? WriteRefusal(long minFreeBytes, bool probe)
    {
        try
        {
            var free = new DriveInfo(Path).AvailableFreeSpace;
            if (free < minFreeBytes)
            {
                return $"has {free >> 10} KiB free, under the {minFreeBytes >> 20} MiB the store keeps for its log and checkpoints";
            }

            if (probe)
            {
                ProbeWrite(Path);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot be written ({ex.Message})";
        }
    }

    /// <summary>
    /// Whether the store's files can be opened for writing and its folders take new (empty) files, as Garnet needs to
    /// recover them: a full disk allows it, a read-only folder does not (Garnet then recovered nothing, or part of it,
    /// and would serve that). Every file and folder: one made writable again before the others is not enough.
    /// </summary>
    public bool FilesOpenForWriting()
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
            {
                if (System.IO.Path.GetFileName(file) != LockFileName)
                {
                    // FileShare.ReadWrite: no lock is taken, so Garnet's own open handles do not get in the way.
                    File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite).Dispose();
                }
            }

            foreach (var folder in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories).Prepend(Path))
            {
                var probe = System.IO.Path.Combine(folder, ".ramcoin-open-test");
                File.Create(probe).Dispose();
                File.Delete(probe);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Dispose() => _lock.Dispose();

    private static void ProbeWrite(string folder)
    {
        var path = System.IO.Path.Combine(folder, ".ramcoin-write-test");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            file.Write("ok"u8);
            file.Flush(flushToDisk: true);
        }

        File.Delete(path);
    }
}
