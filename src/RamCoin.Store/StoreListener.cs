using Garnet.networking;
using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// The store's listening socket, owned by the store rather than by one Garnet: when a Garnet is replaced (its
/// append-only file failed), its clients are cut off but the port stays bound, so no other program can take it and
/// receive the clients' passwords.
/// </summary>
/// <remarks>
/// It answers the first bytes of each connection itself (<see cref="IServerHook"/>, re-implemented): between one Garnet
/// and the next there is no session provider, and Garnet's own answer logs the bytes received, which may hold the
/// client's password (<c>AUTH</c>, <c>HELLO 3 AUTH</c>).
/// </remarks>
internal sealed class StoreListener(GarnetServerOptions options, ILogger logger) : GarnetServerTcp(
    options.EndPoints[0], 0, options.TlsOptions, options.NetworkSendThrottleMax, new ConnectionLimit(options.NetworkConnectionLimit),
    options.UnixSocketPath, options.UnixSocketPermission, options.GetNetworkBufferSettings(), options.GetNetworkBufferPoolSize(),
    options.GetNetworkBufferBudget(), logger, options.NetworkSendTimeout, options.TlsHandshakeTimeout), IServerHook
{
    private bool _listening;
    private bool _closing;

    /// <summary>Binds once; the Garnets started after the first one find it listening.</summary>
    public override void Start()
    {
        if (!_listening)
        {
            base.Start();
            _listening = true;
        }
    }

    /// <summary>
    /// A client that connects while one Garnet replaces another has its connection closed, with a message that does not
    /// repeat what it sent; it reconnects to the next Garnet.
    /// </summary>
    bool IServerHook.TryCreateMessageConsumer(Span<byte> bytesReceived, INetworkSender networkSender, out IMessageConsumer session)
    {
        session = null!;
        if (bytesReceived.Length < 4)
        {
            return false; // Garnet's own rule: four bytes before it picks a session.
        }

        if (!GetSessionProviders().TryGetValue(WireFormat.ASCII, out var provider))
        {
            throw new GarnetReplacingException();
        }

        return AddSession(WireFormat.ASCII, ref provider, networkSender, out session)
            ? true
            : throw new InvalidOperationException("Garnet could not add a session");
    }

    /// <summary>Called by each Garnet as it is disposed: the socket stays open unless the store stops.</summary>
    public override void Close()
    {
        if (_closing)
        {
            base.Close();
        }
    }

    /// <summary>A Garnet being disposed detaches itself: its sessions end and its session provider goes.</summary>
    public override void Dispose()
    {
        if (_closing)
        {
            base.Dispose();
            return;
        }

        foreach (var handler in activeHandlers.Keys)
        {
            handler.Dispose();
        }

        Unregister(WireFormat.ASCII, out _);
    }

    /// <summary>The store stops: the socket closes and every connection ends.</summary>
    public void Shutdown()
    {
        _closing = true;
        Close();
        Dispose();
    }
}

/// <summary>Closes a connection that arrived while the store had no Garnet to hand it to.</summary>
internal sealed class GarnetReplacingException()
    : Exception("a client connected while the store was replacing its Garnet; its connection is closed and it reconnects");
