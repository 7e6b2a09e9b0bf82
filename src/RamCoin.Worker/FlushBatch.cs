using System.Security.Cryptography;

namespace RamCoin.Worker;

/// <summary>
/// One write to the store, numbered so that it is applied exactly once: <paramref name="Hashes"/> for
/// <c>INCRBY hashes</c>, <paramref name="InstanceHashes"/> for this worker's own field, and the coins. Counts that an
/// earlier batch could not write (a key of the wrong type) ride along, so the two counts may differ.
/// </summary>
public sealed record FlushBatch(long Sequence, long Hashes, long InstanceHashes, IReadOnlyList<Coin> Coins)
{
    /// <summary>
    /// What the batch records in the flush ledger: its sequence and a random id of its own. Only this batch's transaction
    /// writes that id, so finding it there proves the batch applied; a sequence alone can be forged by any client.
    /// </summary>
    public string LedgerEntry { get; } = $"{Sequence}:{RandomNumberGenerator.GetHexString(16, lowercase: true)}";
}
