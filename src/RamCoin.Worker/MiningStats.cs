using System.Collections.Concurrent;

namespace RamCoin.Worker;

/// <summary>A coin: a hash that meets the difficulty, and the bytes it is the hash of.</summary>
public sealed record Coin(string Hash, byte[] Bytes, double FoundAt);

/// <summary>
/// What this worker has computed and what has reached the store. Counts and coins wait here until a
/// flush writes them, so a store outage loses nothing; coins waiting are bounded (WORKER_MAX_PENDING_COINS).
/// </summary>
public sealed class MiningStats(int maxPendingCoins)
{
    private readonly ConcurrentQueue<Coin> _coins = new();
    private long _computed;
    private long _unflushed;
    private long _written;
    private long _coinsFound;
    private long _coinsWritten;
    private long _coinsDropped;
    private long _errors;

    public long Computed => Interlocked.Read(ref _computed);

    public long Written => Interlocked.Read(ref _written);

    public long CoinsFound => Interlocked.Read(ref _coinsFound);

    public long CoinsWritten => Interlocked.Read(ref _coinsWritten);

    /// <summary>Coins found while the pending queue was full: counted as hashes, not kept.</summary>
    public long CoinsDropped => Interlocked.Read(ref _coinsDropped);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Hashes computed but not yet in the store; written is read first, so this is never negative.</summary>
    public long HashesPending
    {
        get
        {
            var written = Written;
            return Computed - written;
        }
    }

    /// <summary>Coins found but neither in the wallet nor dropped.</summary>
    public long CoinsPending
    {
        get
        {
            var settled = CoinsWritten + CoinsDropped;
            return CoinsFound - settled;
        }
    }

    /// <summary>Records one computed hash; false when its coin had to be dropped because too many wait.</summary>
    public bool RecordHash(Coin? coin)
    {
        var kept = true;
        if (coin is not null)
        {
            Interlocked.Increment(ref _coinsFound);
            if (_coins.Count < maxPendingCoins)
            {
                _coins.Enqueue(coin);
            }
            else
            {
                Interlocked.Increment(ref _coinsDropped);
                kept = false;
            }
        }

        Interlocked.Increment(ref _computed);
        Interlocked.Increment(ref _unflushed);
        return kept;
    }

    public void RecordError() => Interlocked.Increment(ref _errors);

    /// <summary>Takes what the next flush writes: every pending count, and at most <paramref name="maxCoins"/> coins.</summary>
    public (long Hashes, List<Coin> Coins) TakePending(int maxCoins)
    {
        var coins = new List<Coin>();
        while (coins.Count < maxCoins && _coins.TryDequeue(out var coin))
        {
            coins.Add(coin);
        }

        return (Interlocked.Exchange(ref _unflushed, 0), coins);
    }

    public void Confirm(long hashes, int coins)
    {
        Interlocked.Add(ref _written, hashes);
        Interlocked.Add(ref _coinsWritten, coins);
    }
}
