namespace RamCoin.Worker;

/// <summary>One write to the store: counts and coins, numbered so that it is applied exactly once.</summary>
public sealed record FlushBatch(long Sequence, long Hashes, IReadOnlyList<Coin> Coins);
