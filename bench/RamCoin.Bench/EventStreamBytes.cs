using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace RamCoin.Bench;

/// <summary>
/// An HTTP/1.1 <c>GET /events</c> answer read off a socket as it arrives: the status line, the headers, a body
/// that is chunked or ends with the connection, and the events in it. Only what the viewers bench needs: each
/// event's <c>data</c> handed on whole. No allocation per event beyond what a frame split across reads keeps.
/// </summary>
public sealed class EventStreamBytes
{
    /// <summary>Headers or one event larger than this is not a dashboard: the stream is failed.</summary>
    public const int MaxBuffered = 1 << 20;

    private readonly ArrayBufferWriter<byte> _raw = new();
    private readonly ArrayBufferWriter<byte> _body = new();
    private bool _headersRead;
    private bool _chunked;
    private long _chunkLeft;
    private bool _chunkEndPending;

    /// <summary>The status code, once the headers are in (0 before).</summary>
    public int Status { get; private set; }

    /// <summary>A chunked body's last chunk came: the server ended the stream.</summary>
    public bool Ended { get; private set; }

    /// <summary>
    /// Takes the bytes of one read and calls <paramref name="onData"/> with each complete event's data. False when the
    /// answer cannot be read (then <paramref name="error"/> says why).
    /// </summary>
    public bool Feed(ReadOnlySpan<byte> bytes, Action<ReadOnlySpan<byte>> onData, out string? error)
    {
        error = null;
        if (!_headersRead)
        {
            _raw.Write(bytes);
            var raw = _raw.WrittenSpan;
            var end = raw.IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                error = raw.Length > MaxBuffered ? "headers larger than 1 MiB" : null;
                return error is null;
            }

            if (!ReadHeaders(raw[..end], out error))
            {
                return false;
            }

            _headersRead = true;
            var rest = raw[(end + 4)..].ToArray();
            _raw.Clear();
            return Status != 200 || Body(rest, onData, out error);
        }

        return Status != 200 || Body(bytes, onData, out error);
    }

    private bool ReadHeaders(ReadOnlySpan<byte> head, out string? error)
    {
        error = null;
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = lineEnd < 0 ? head : head[..lineEnd];
        // "HTTP/1.1 200 OK"
        if (!statusLine.StartsWith("HTTP/1."u8) || statusLine.Length < 12 || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out _))
        {
            error = $"not an HTTP/1.x status line: '{Encoding.ASCII.GetString(statusLine[..Math.Min(statusLine.Length, 40)])}'";
            return false;
        }

        Status = status;
        var headers = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        foreach (var line in Encoding.ASCII.GetString(headers).Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                && line[(colon + 1)..].Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                _chunked = true;
            }
        }

        return true;
    }

    private bool Body(ReadOnlySpan<byte> bytes, Action<ReadOnlySpan<byte>> onData, out string? error)
    {
        error = null;
        if (!_chunked)
        {
            return Events(bytes, onData, out error);
        }

        // Chunked: copy each chunk's data out, keeping a size line split across reads in _raw.
        while (!bytes.IsEmpty && !Ended)
        {
            if (_chunkLeft > 0)
            {
                var take = (int)Math.Min(_chunkLeft, bytes.Length);
                if (!Events(bytes[..take], onData, out error))
                {
                    return false;
                }

                _chunkLeft -= take;
                bytes = bytes[take..];
                _chunkEndPending = _chunkLeft == 0;
                continue;
            }

            _raw.Write(bytes);
            bytes = [];
            var raw = _raw.WrittenSpan;
            if (_chunkEndPending)
            {
                if (raw.Length < 2)
                {
                    return true;
                }

                raw = raw[2..];
                _chunkEndPending = false;
            }

            var lineEnd = raw.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                error = raw.Length > 64 ? "a chunk size line longer than 64 bytes" : null;
                if (error is null)
                {
                    var keep = raw.ToArray();
                    _raw.Clear();
                    _raw.Write(keep);
                }

                return error is null;
            }

            var sizeText = raw[..lineEnd];
            if (sizeText.IndexOf((byte)';') is >= 0 and var semicolon)
            {
                sizeText = sizeText[..semicolon];
            }

            if (!Utf8Parser.TryParse(sizeText, out long size, out var used, 'x') || used != sizeText.Length || size < 0)
            {
                error = "a chunk size that is not hexadecimal";
                return false;
            }

            var after = raw[(lineEnd + 2)..].ToArray();
            _raw.Clear();
            if (size == 0)
            {
                Ended = true;
                return true;
            }

            _chunkLeft = size;
            bytes = after;
        }

        return true;
    }

    /// <summary>Events end with an empty line; a <c>data:</c> line's value is handed on (the dashboard sends one per event).</summary>
    private bool Events(ReadOnlySpan<byte> bytes, Action<ReadOnlySpan<byte>> onData, out string? error)
    {
        error = null;
        ReadOnlySpan<byte> text;
        if (_body.WrittenCount == 0)
        {
            text = bytes;
        }
        else
        {
            _body.Write(bytes);
            text = _body.WrittenSpan;
        }

        int end;
        while ((end = text.IndexOf("\n\n"u8)) >= 0)
        {
            Event(text[..end], onData);
            text = text[(end + 2)..];
        }

        if (text.Length > MaxBuffered)
        {
            error = "an event larger than 1 MiB";
            return false;
        }

        // Keep the start of the next event (a frame split across reads), copied since text may be _body itself.
        var keep = text.ToArray();
        _body.Clear();
        _body.Write(keep);
        return true;
    }

    private static void Event(ReadOnlySpan<byte> block, Action<ReadOnlySpan<byte>> onData)
    {
        while (!block.IsEmpty)
        {
            var lineEnd = block.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? block : block[..lineEnd];
            block = lineEnd < 0 ? [] : block[(lineEnd + 1)..];
            if (line.StartsWith("data:"u8))
            {
                var value = line[5..];
                onData(value.StartsWith(" "u8) ? value[1..] : value);
                return;
            }
        }
    }
}
