using System.Collections.Concurrent;

namespace RamCoin.Worker;

/// <summary>A coin: a hash that meets the difficulty, and the bytes it is the hash of.</summary>
public sealed record Coin(string Hash, byte[] Bytes);

/// <summary>
/// What this worker has computed and what has reached the store. Counts and coins wait here until a
/// flush writes them, and go back here when a flush fails, so a store outage loses nothing.
/// </summary>
public sealed class MiningStats
{
    private readonly ConcurrentQueue<Coin> _coins = new();
    private long _computed;
    private long _unflushed;
    private long _written;
    private long _coinsFound;
    private long _coinsWritten;
    private long _errors;

    public long Computed => Interlocked.Read(ref _computed);

    public long Written => Interlocked.Read(ref _written);

    public long CoinsFound => Interlocked.Read(ref _coinsFound);

    public long CoinsWritten => Interlocked.Read(ref _coinsWritten);

    public long Errors => Interlocked.Read(ref _errors);

    public int CoinsPending => _coins.Count;

    public void RecordHash(Coin? coin)
    {
        if (coin is not null)
        {
            _coins.Enqueue(coin);
            Interlocked.Increment(ref _coinsFound);
        }

        Interlocked.Increment(ref _computed);
        Interlocked.Increment(ref _unflushed);
    }

    public void RecordError() => Interlocked.Increment(ref _errors);

    /// <summary>Takes what the next flush writes; give it back with <see cref="Restore"/> if the write fails.</summary>
    public (long Hashes, List<Coin> Coins) TakePending()
    {
        var coins = new List<Coin>();
        while (_coins.TryDequeue(out var coin))
        {
            coins.Add(coin);
        }

        return (Interlocked.Exchange(ref _unflushed, 0), coins);
    }

    public void Restore(long hashes, List<Coin> coins)
    {
        Interlocked.Add(ref _unflushed, hashes);
        foreach (var coin in coins)
        {
            _coins.Enqueue(coin);
        }
    }

    public void Confirm(long hashes, int coins)
    {
        Interlocked.Add(ref _written, hashes);
        Interlocked.Add(ref _coinsWritten, coins);
    }
}
