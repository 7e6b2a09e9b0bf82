/*
 * Gives each file named on the command line the file capability CAP_NET_BIND_SERVICE (permitted and effective), as
 * `setcap cap_net_bind_service=+ep FILE` does, then removes itself. The Dockerfile runs it as the last step of each
 * service image: the non-root services then listen on port 80 wherever the runtime keeps ports below 1024 closed to
 * non-root users (containerd before 2.0, CRI-O), and a COPY of a file that has the capability loses it in Docker's
 * classic builder. Static, so that it runs in the chiseled images (no shell, no libcap).
 */
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    /* struct vfs_cap_data, revision 2, little-endian: magic 0x02000000 | VFS_CAP_FLAGS_EFFECTIVE, then permitted[0] =
     * 1 << CAP_NET_BIND_SERVICE (10), inheritable[0], permitted[1], inheritable[1] = 0. */
    static const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00};
    for (int i = 1; i < argc; i++) {
        if (setxattr(argv[i], "security.capability", cap, sizeof cap, 0) != 0) {
            perror(argv[i]);
            return 1;
        }
    }
    return unlink(argv[0]) == 0 ? 0 : 1;
}
