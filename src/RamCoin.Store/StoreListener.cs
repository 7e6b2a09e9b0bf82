using Garnet.networking;
using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// The store's listening socket, owned by the store rather than by one Garnet: when a Garnet is replaced (its
/// append-only file failed), its clients are cut off but the port stays bound, so no other program can take it and
/// receive the clients' passwords.
/// </summary>
internal sealed class StoreListener(GarnetServerOptions options, ILogger logger) : GarnetServerTcp(
    options.EndPoints[0], 0, options.TlsOptions, options.NetworkSendThrottleMax, new ConnectionLimit(options.NetworkConnectionLimit),
    options.UnixSocketPath, options.UnixSocketPermission, options.GetNetworkBufferSettings(), options.GetNetworkBufferPoolSize(),
    options.GetNetworkBufferBudget(), logger, options.NetworkSendTimeout, options.TlsHandshakeTimeout)
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
