namespace RamCoin.StoreContract;

/// <summary>A coin in <see cref="StoreKeys.RecentCoins"/>: its hash, when it was found (unix seconds), by which worker.</summary>
public sealed record RecentCoin(string Hash, double At, string Worker);
