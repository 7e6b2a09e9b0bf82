using Garnet.networking;
using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// The store's listening socket, owned by the store rather than by one Garnet: when a Garnet is replaced (its
/// append-only file failed), its clients are cut off but the port stays bound, so no other program can take it and
/// receive the clients' passwords.
/// </summary>
/// <remarks>
/// It hands a new connection to a Garnet only once the store has opened it (<see cref="Open"/>): a Garnet registers
/// its sessions while it is being built, before it refuses what it must refuse and before it has recovered its data,
/// and a client let in then saw an empty store. It answers the first bytes of each connection itself
/// (<see cref="IServerHook"/>, re-implemented) because Garnet's own answer without a Garnet logs the bytes received,
/// which may hold the client's password (<c>AUTH</c>, <c>HELLO 3 AUTH</c>).
/// </remarks>
internal sealed class StoreListener(GarnetServerOptions options, ILogger logger) : GarnetServerTcp(
    options.EndPoints[0], 0, options.TlsOptions, options.NetworkSendThrottleMax, new ConnectionLimit(options.NetworkConnectionLimit),
    options.UnixSocketPath, options.UnixSocketPermission, options.GetNetworkBufferSettings(), options.GetNetworkBufferPoolSize(),
    options.GetNetworkBufferBudget(), logger, options.NetworkSendTimeout, options.TlsHandshakeTimeout), IServerHook
{
    private bool _listening;
    private bool _closing;
    private volatile bool _open;
    private volatile bool _failed;

    /// <summary>The Garnet registered now is ready (its refusals set, its data recovered): new connections go to it.</summary>
    public void Open()
    {
        _failed = false;
        _open = true;
    }

    /// <summary>Its Garnet's append-only file failed: no command goes to that Garnet any more (<see cref="Suspend"/>).</summary>
    public bool Failed => _failed;

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

        if (!_open || !GetSessionProviders().TryGetValue(WireFormat.ASCII, out var provider))
        {
            throw new GarnetReplacingException();
        }

        var replies = new FailedBatchReplies(networkSender, this);
        if (!AddSession(WireFormat.ASCII, ref provider, replies.Sender, out var garnetSession))
        {
            throw new InvalidOperationException("Garnet could not add a session");
        }

        replies.Session = garnetSession;
        session = replies;
        return true;
    }

    /// <summary>Called by each Garnet as it is disposed: the socket stays open unless the store stops.</summary>
    public override void Close()
    {
        if (_closing)
        {
            base.Close();
        }
    }

    /// <summary>
    /// Its Garnet must serve no one any more: each command sent on its connections from now on gets an error reply and
    /// ends its connection; new connections wait for the next Garnet. The connections end when that Garnet is disposed.
    /// </summary>
    public void Suspend()
    {
        _open = false;
        _failed = true;
    }

    /// <summary>
    /// A Garnet being disposed detaches itself: no new session goes to it, then every connection ends, those whose
    /// session began just before included (a connection is listed from its accept on).
    /// </summary>
    public override void Dispose()
    {
        _open = false;
        if (_closing)
        {
            base.Dispose();
            return;
        }

        Unregister(WireFormat.ASCII, out _);
        foreach (var handler in activeHandlers.Keys)
        {
            handler.Dispose();
        }
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
