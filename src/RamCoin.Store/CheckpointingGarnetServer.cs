using Garnet;
using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// A Garnet server that can take a checkpoint of itself in process: the checkpoint Garnet's SAVE takes, without a client
/// connection and without the server ever leaving its port.
/// </summary>
internal sealed class CheckpointingGarnetServer(string[] arguments, ILoggerFactory loggerFactory) : GarnetServer(arguments, loggerFactory)
{
    /// <summary>
    /// Checkpoints every database while clients keep writing; Garnet then truncates the append-only file behind it.
    /// </summary>
    public Task<CheckpointStatus> CheckpointAsync(CancellationToken cancellationToken) =>
        storeWrapper.TakeCheckpointAsync(background: false, token: cancellationToken);
}
