using RamCoin.WebUI;

namespace RamCoin.Tests;

/// <summary>What the web UI reads of a store key is bounded whatever the key holds, on Garnet and on redis-server alike.</summary>
public sealed class BoundedStoreReadsTests
{
    [Theory]
    [StoreKinds]
    public async Task ACounterIsReadOnlyWhenItIsShortEnoughToBeOne(string kind)
    {
        await using var store = await StoreServer.StartAsync(kind);
        var db = await store.DatabaseAsync();

        Assert.True((await BoundedStoreReads.CounterAsync(db, "missing")).IsNull);
        await db.StringSetAsync("counter", "9223372036854775807");
        Assert.Equal(long.MaxValue, (long)await BoundedStoreReads.CounterAsync(db, "counter"));
        await db.StringSetAsync("counter", new string('7', 100_000));
        Assert.Equal(RedisValue.EmptyString, await BoundedStoreReads.CounterAsync(db, "counter"));
    }

    [Theory]
    [StoreKinds]
    public async Task AHashIsScannedUpToItsCountAndSkippedPastItsSize(string kind)
    {
        await using var store = await StoreServer.StartAsync(kind);
        var db = await store.DatabaseAsync();
        await db.HashSetAsync(StoreKeys.WorkerSeen, [.. Enumerable.Range(0, 1_500).Select(i => new HashEntry($"w{i}", i))]);

        var (entries, more) = (await BoundedStoreReads.SmallHashAsync(db, StoreKeys.WorkerSeen, BoundedStoreReads.MaxWorkerHashBytes))!.Value;
        Assert.Equal(BoundedStoreReads.MaxWorkers, entries.Count);
        Assert.True(more);

        // 3 MB in one command: under a whole test run's load Garnet can take longer to read it than a client's default 5 s.
        await using (var patient = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", store.Port } }, AsyncTimeout = 30_000 }))
        {
            await patient.GetDatabase().HashSetAsync(StoreKeys.WorkerSeen, "w1", new byte[3_000_000]);
        }

        Assert.Null(await BoundedStoreReads.SmallHashAsync(db, StoreKeys.WorkerSeen, BoundedStoreReads.MaxWorkerHashBytes));
    }

    [Theory]
    [StoreKinds]
    public async Task OnlyValuesWithinTheirLengthAndTheTotalAreRead(string kind)
    {
        await using var store = await StoreServer.StartAsync(kind);
        var db = await store.DatabaseAsync();
        await db.HashSetAsync("h", [new("small", "abc"), new("big", new byte[100_000]), new("next", "defg"), new("last", "hi")]);

        var (values, skipped) = await BoundedStoreReads.ShortValuesAsync(db, "h", ["small", "big", "missing", "next", "last"], 1_000, 7);

        // "big" is too long, "last" would pass the total of 7 bytes; "missing" is absent, not skipped.
        Assert.Equal(["abc", RedisValue.Null, RedisValue.Null, "defg", RedisValue.Null], values);
        Assert.Equal(2, skipped);
    }
}
