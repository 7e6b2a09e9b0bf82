using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RamCoin.Bench;

/// <summary>
/// When bytes reached a viewer's socket, by the kernel's clock (Linux <c>SO_TIMESTAMPNS</c>): the time the packet
/// entered the receiving stack, which on loopback is inside the web UI's own send. The lag it gives is the web UI's
/// alone; the time the bench's read completes adds the bench's own wait for a core (10,000 readers on the 2 cores
/// the web UI runs on), which a classroom's laptops do not add.
/// </summary>
public static unsafe partial class ArrivalStamps
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35;
    private const int MsgDontWait = 0x40;
    private const int EAgain = 11;

    /// <summary>Asks the kernel to stamp what arrives on <paramref name="socket"/>; false where it cannot (not Linux).</summary>
    public static bool Enable(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads what is there without waiting: the byte count (0 at the end of the stream, -1 when nothing is there yet)
    /// and in <paramref name="arrived"/> the unix time at which the last of it arrived (NaN without a stamp).
    /// </summary>
    public static int Receive(Socket socket, Span<byte> buffer, out double arrived)
    {
        arrived = double.NaN;
        // cmsghdr (16 bytes) + timespec (16): room for one stamp with slack.
        var control = stackalloc byte[64];
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var message = new MessageHeader { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            var n = RecvMsg((int)socket.SafeHandle.DangerousGetHandle(), &message, MsgDontWait);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == EAgain ? -1 : throw new SocketException(errno);
            }

            // One control message is asked for; walk them all anyway (CMSG_NXTHDR: 8-byte aligned lengths).
            var offset = 0UL;
            while (offset + 16 <= message.ControlLength)
            {
                var header = (ControlHeader*)(control + offset);
                if (header->Level == SolSocket && header->Type == SoTimestampNs && header->Length >= 32)
                {
                    var stamp = (long*)(header + 1);
                    arrived = stamp[0] + (stamp[1] / 1e9);
                }

                offset += (header->Length + 7) & ~7UL;
                if (header->Length == 0)
                {
                    break;
                }
            }

            return (int)n;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public ulong ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ControlHeader
    {
        public ulong Length;
        public int Level;
        public int Type;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int socket, MessageHeader* message, int flags);
}
