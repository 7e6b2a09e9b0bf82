namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// A small tmpfs of its own (root only), to fill up on purpose: a full disk is a full disk even for root, unlike
/// permissions. Unmounted on dispose.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Mounts a tmpfs of <paramref name="mebibytes"/> MiB; skips the test where that needs a root it lacks.</summary>
    public static SmallDisk Mount(int mebibytes)
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("needs root to mount a small tmpfs (bash .ci/run runs as root).");
        }

        var path = Directory.CreateTempSubdirectory("ramcoin-disk-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={mebibytes}m", "tmpfs", path);
        return new SmallDisk(path);
    }

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Takes the free space down to <paramref name="leaveBytes"/> at once (one preallocated file, no writing).</summary>
    public void Fill(long leaveBytes)
    {
        var size = FreeBytes - leaveBytes;
        Assert.True(size > 0, $"the disk has {FreeBytes} bytes free, not more than {leaveBytes}");
        using var filler = new FileStream(Filler, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, PreallocationSize = size });
    }

    public void Unfill() => File.Delete(Filler);

    public void Dispose()
    {
        Unmount(Path);

        Directory.Delete(Path, recursive: true);
    }

    /// <summary>Unmounts a folder, retrying for 5 s: a process that just exited may still hold a file there for a moment.</summary>
    internal static void Unmount(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var umount = Process.Start("umount", [path]);
            umount.WaitForExit();
            if (umount.ExitCode == 0 || attempt >= 20)
            {
                break;
            }

            Thread.Sleep(250);
        }
    }

    /// <summary>Runs a program to its end; fails the test unless it exits 0.</summary>
    internal static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited with {process.ExitCode}");
    }
}
