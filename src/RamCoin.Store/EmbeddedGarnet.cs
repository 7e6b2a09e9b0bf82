using Garnet;
using Garnet.server;
using Garnet.server.ACL;

namespace RamCoin.Store;

/// <summary>
/// One Garnet server in this process, with what the store needs beyond Garnet's command set: a checkpoint taken in
/// process (what SAVE does, without a client), a check of its append-only file, and writes refused by ACL.
/// </summary>
internal sealed class EmbeddedGarnet(GarnetServerOptions options, ILoggerFactory loggerFactory, StoreListener listener)
    : GarnetServer(options, loggerFactory, [listener])
{
    private User? _allowed;

    /// <summary>Checkpoints every database while clients keep writing; Garnet then truncates the append-only file behind it.</summary>
    public Task<CheckpointStatus> CheckpointAsync(CancellationToken cancellationToken) =>
        storeWrapper.TakeCheckpointAsync(background: false, token: cancellationToken);

    /// <summary>
    /// Why the append-only file cannot be written, or null. After a failed write (a full or read-only disk) Garnet's log
    /// keeps that failure for good, and every later command's commit fails with it; a commit that takes long (up to 5 s)
    /// is not a failure.
    /// </summary>
    public async Task<string?> AppendOnlyFileFailureAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await Store.WaitForCommitAsync(timeout.Token);
            return null;
        }
        catch (OperationCanceledException)
        {
            stoppingToken.ThrowIfCancellationRequested();
            return null;
        }
        catch (Exception ex)
        {
            return ex.GetBaseException().Message;
        }
    }

    /// <summary>
    /// Refuses (or accepts again) every write command with Garnet's own ACL, as <c>ACL SETUSER default -@write</c> would:
    /// clients get an error reply (NOPERM) and keep their connection; reads go on, transactions are refused whole.
    /// </summary>
    public void RefuseWrites(bool refuse)
    {
        var handle = storeWrapper.accessControlList.GetDefaultUserHandle();
        var current = handle.User;
        if (refuse && _allowed is null)
        {
            var readOnly = new User(current);
            readOnly.RemoveCategory(RespAclCategories.Write);
            // Garnet runs an EXEC whose queued writes were refused as an empty transaction: refuse the transaction instead.
            readOnly.RemoveCommand(RespCommand.MULTI);
            readOnly.RemoveCommand(RespCommand.EXEC);
            if (handle.TrySetUser(readOnly, current))
            {
                _allowed = current;
            }
        }
        else if (!refuse && _allowed is { } allowed && handle.TrySetUser(allowed, current))
        {
            _allowed = null;
        }
    }

    public bool WritesRefused => _allowed is not null;

    /// <summary>
    /// Refuses reads as well as writes, for good (before Start): a stand-in without the data answers every data command
    /// with NOPERM rather than with empty values.
    /// </summary>
    public void RefuseData()
    {
        var handle = storeWrapper.accessControlList.GetDefaultUserHandle();
        var current = handle.User;
        var none = new User(current);
        none.RemoveCategory(RespAclCategories.Read);
        none.RemoveCategory(RespAclCategories.Write);
        none.RemoveCommand(RespCommand.MULTI);
        none.RemoveCommand(RespCommand.EXEC);
        handle.TrySetUser(none, current);
    }
}
