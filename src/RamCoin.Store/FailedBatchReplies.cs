using System.Text;
using Garnet.networking;

namespace RamCoin.Store;

/// <summary>
/// Stands between a Garnet session and its connection so that commands the store cannot keep (its Garnet's append-only
/// file failed: a full or read-only disk) get one error reply each before the connection ends. Garnet itself ends the
/// connection with no answer, and the client cannot tell a lost reply from a lost write.
/// </summary>
/// <remarks>
/// Two cases: a batch whose commit fails in Garnet (Garnet logs the exception and disposes its sender: held back here
/// until the batch has its answers), and a batch that arrives once the store knows the file failed
/// (<see cref="StoreListener.Failed"/>: answered here, never given to that Garnet, whose reads could return writes it
/// did not keep). A batch whose replies were partly sent already, of more than <see cref="MaxAnswers"/> commands, or
/// with anything but RESP arrays of bulk strings, just ends as before: nothing tells which commands were answered.
/// </remarks>
internal sealed unsafe class FailedBatchReplies(INetworkSender connection, StoreListener listener) : IMessageConsumer
{
    /// <summary>The most error replies one batch gets: a client pipelines a few commands; more is not a client's batch.</summary>
    public const int MaxAnswers = 1024;

    private static readonly byte[] Reply = Encoding.ASCII.GetBytes(
        "-ERR the store could not write its disk, so this command is not known to be kept; try it again\r\n");

    private readonly BatchSender _sender = new(connection);
    private IMessageConsumer? _session;

    /// <summary>What the Garnet session answers through: this connection, with its disposal held during a batch.</summary>
    public INetworkSender Sender => _sender;

    /// <summary>The Garnet session that consumes this connection's bytes.</summary>
    public IMessageConsumer Session { set => _session = value; }

    public int TryConsumeMessages(byte* reqBuffer, int bytesRead)
    {
        if (listener.Failed)
        {
            var (commands, wholeBytes) = CountCommands(new ReadOnlySpan<byte>(reqBuffer, bytesRead));
            if (commands != 0)
            {
                EndWith(commands);
            }

            return wholeBytes;
        }

        (_sender.InBatch, _sender.SentInBatch, _sender.DisposeHeld) = (true, false, false);
        int consumed;
        try
        {
            consumed = _session!.TryConsumeMessages(reqBuffer, bytesRead);
        }
        finally
        {
            _sender.InBatch = false;
        }

        if (_sender.DisposeHeld)
        {
            // None of the batch was answered: each whole command in it gets its error, those Garnet had not reached too.
            EndWith(_sender.SentInBatch ? -1 : CountCommands(new ReadOnlySpan<byte>(reqBuffer, bytesRead)).Commands);
        }

        return consumed;
    }

    public void Dispose() => _session?.Dispose();

    /// <summary>Ends the connection, after one error reply per command when their number is known.</summary>
    private void EndWith(int commands)
    {
        if (commands is > 0 and <= MaxAnswers)
        {
            AnswerEach(commands);
            connection.DisposeNetworkSender(waitForSendCompletion: true);
        }
        else
        {
            connection.Dispose();
        }
    }

    /// <summary>
    /// How many whole RESP commands (arrays of bulk strings) the bytes begin with, and their length; a command cut short
    /// ends the count; anything else than such arrays gives -1.
    /// </summary>
    internal static (int Commands, int Bytes) CountCommands(ReadOnlySpan<byte> bytes)
    {
        var count = 0;
        var rest = bytes;
        while (true)
        {
            var command = rest;
            switch (ReadCommand(ref command))
            {
                case Read.Whole:
                    count++;
                    rest = command;
                    break;
                case Read.Short:
                    return (count, bytes.Length - rest.Length);
                default:
                    return (-1, 0);
            }
        }
    }

    private enum Read { Whole, Short, Other }

    private static Read ReadCommand(ref ReadOnlySpan<byte> bytes)
    {
        var read = ReadLength(ref bytes, (byte)'*', out var parts);
        for (var i = 0; read == Read.Whole && i < parts; i++)
        {
            read = ReadLength(ref bytes, (byte)'$', out var length);
            if (read != Read.Whole)
            {
                break;
            }

            if (bytes.Length < length + 2)
            {
                return Read.Short;
            }

            if (bytes[length] != '\r' || bytes[length + 1] != '\n')
            {
                return Read.Other;
            }

            bytes = bytes[(length + 2)..];
        }

        return read;
    }

    /// <summary>Reads <c>{prefix}{digits}\r\n</c>: at most 9 digits, so the length fits an int.</summary>
    private static Read ReadLength(ref ReadOnlySpan<byte> bytes, byte prefix, out int length)
    {
        length = 0;
        if (bytes.IsEmpty)
        {
            return Read.Short;
        }

        var end = bytes[..Math.Min(bytes.Length, 12)].IndexOf("\r\n"u8);
        if (bytes[0] != prefix || end is 0 or 1 or > 10 || (end < 0 && bytes.Length >= 12))
        {
            return Read.Other;
        }

        if (end < 0)
        {
            return Read.Short;
        }

        foreach (var digit in bytes[1..end])
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return Read.Other;
            }

            length = (length * 10) + (digit - '0');
        }

        bytes = bytes[(end + 2)..];
        return Read.Whole;
    }

    private void AnswerEach(int count)
    {
        connection.EnterAndGetResponseObject(out var head, out var tail);
        try
        {
            var current = head;
            for (var i = 0; i < count; i++)
            {
                if (tail - current < Reply.Length)
                {
                    connection.SendResponse(0, (int)(current - head));
                    connection.GetResponseObject();
                    head = connection.GetResponseObjectHead();
                    tail = connection.GetResponseObjectTail();
                    current = head;
                }

                Reply.CopyTo(new Span<byte>(current, Reply.Length));
                current += Reply.Length;
            }

            connection.SendResponse(0, (int)(current - head));
        }
        finally
        {
            connection.ExitAndReturnResponseObject();
        }
    }

    /// <summary>The connection as the session sees it: a disposal during a batch waits for the batch's answers.</summary>
    private sealed class BatchSender(INetworkSender connection) : INetworkSender
    {
        public bool InBatch { get; set; }

        public bool SentInBatch { get; set; }

        public bool DisposeHeld { get; set; }

        public void Dispose()
        {
            // Garnet disposes the sender of a batch it could not complete: held until the batch has its answers.
            if (InBatch)
            {
                DisposeHeld = true;
                return;
            }

            connection.Dispose();
        }

        public bool SendResponse(int offset, int size)
        {
            SentInBatch = true;
            return connection.SendResponse(offset, size);
        }

        public void SendResponse(byte[] buffer, int offset, int count, object context)
        {
            SentInBatch = true;
            connection.SendResponse(buffer, offset, count, context);
        }

        public MaxSizeSettings GetMaxSizeSettings => connection.GetMaxSizeSettings;

        public string RemoteEndpointName => connection.RemoteEndpointName;

        public string LocalEndpointName => connection.LocalEndpointName;

        public bool IsLocalConnection() => connection.IsLocalConnection();

        public void Enter() => connection.Enter();

        public void EnterAndGetResponseObject(out byte* head, out byte* tail) => connection.EnterAndGetResponseObject(out head, out tail);

        public void Exit() => connection.Exit();

        public void ExitAndReturnResponseObject() => connection.ExitAndReturnResponseObject();

        public void GetResponseObject() => connection.GetResponseObject();

        public void ReturnResponseObject() => connection.ReturnResponseObject();

        public byte* GetResponseObjectHead() => connection.GetResponseObjectHead();

        public byte* GetResponseObjectTail() => connection.GetResponseObjectTail();

        public void SendCallback(object context) => connection.SendCallback(context);

        public void DisposeNetworkSender(bool waitForSendCompletion) => connection.DisposeNetworkSender(waitForSendCompletion);

        public void Throttle() => connection.Throttle();

        public bool TryClose() => connection.TryClose();
    }
}
