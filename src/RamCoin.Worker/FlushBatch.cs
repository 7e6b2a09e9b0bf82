namespace RamCoin.Worker;

/// <summary>
/// One write to the store, numbered so that it is applied exactly once: <paramref name="Hashes"/> for
/// <c>INCRBY hashes</c>, <paramref name="InstanceHashes"/> for this worker's own field, and the coins. Counts that an
/// earlier batch could not write (a key of the wrong type) ride along, so the two counts may differ.
/// </summary>
public sealed record FlushBatch(long Sequence, long Hashes, long InstanceHashes, IReadOnlyList<Coin> Coins);
