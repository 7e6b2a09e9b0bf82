namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// A small ext4 image of its own, loop-mounted (root only), whose files can be made read-only under a running store.
/// Not a read-only remount: the kernel refuses one (EBUSY, "mount point is busy") while any file on the mount is open
/// for writing, a bind mount's too, and the store holds its log open. ext4's immutable flag (<c>chattr +i</c>) instead
/// takes effect at once, for files already open as well: every write, create and delete fails (EPERM) until it is
/// cleared. (tmpfs has the flag too, but checks it only when a file is opened.) Unmounted on dispose.
/// </summary>
public sealed class ImmutableDisk : IDisposable
{
    private readonly string _image;

    private ImmutableDisk(string path, string image) => (Path, _image) = (path, image);

    public string Path { get; }

    /// <summary>Mounts an ext4 image of <paramref name="mebibytes"/> MiB; skips the test where that needs a root it lacks.</summary>
    public static ImmutableDisk Mount(int mebibytes)
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("needs root to mount a loop device (bash .ci/run runs as root).");
        }

        var path = Directory.CreateTempSubdirectory("ramcoin-ext4-").FullName;
        var image = path + ".img";
        using (var file = File.Create(image))
        {
            file.SetLength((long)mebibytes << 20);
        }

        SmallDisk.Run("mkfs.ext4", "-q", "-F", image);
        SmallDisk.Run("mount", "-o", "loop", image, path);
        return new ImmutableDisk(path, image);
    }

    /// <summary>Makes everything under the mount (files and folders) read-only, or writable again.</summary>
    public void ReadOnly(bool readOnly) => SmallDisk.Run("chattr", "-R", "-f", readOnly ? "+i" : "-i", Path);

    public void Dispose()
    {
        ReadOnly(false);
        SmallDisk.Unmount(Path);

        Directory.Delete(Path, recursive: true);
        File.Delete(_image);
    }
}
