using System.Reflection;
using Xunit.Sdk;
using Xunit.v3;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// Runs a theory once on each store the services support: <c>garnet</c> (embedded) and <c>redis-server</c>, the
/// latter skipped with the reason on a machine without it (CI installs it and fails on skips).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreKindsAttribute : DataAttribute
{
    public override ValueTask<IReadOnlyCollection<ITheoryDataRow>> GetData(MethodInfo testMethod, DisposalTracker disposalTracker) =>
        new(
        [
            new TheoryDataRow<string>("garnet"),
            new TheoryDataRow<string>("redis-server") { Skip = StoreServer.RedisServerPath is null ? StoreServer.NoRedisServer : null },
        ]);

    public override bool SupportsDiscoveryEnumeration() => true;
}
