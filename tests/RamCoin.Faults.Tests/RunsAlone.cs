namespace RamCoin.Tests;

/// <summary>
/// The test classes that run alone, after the parallel tests, because they measure what tests beside them would move
/// (this process's meters or heap, a run's timings); each says which.
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
