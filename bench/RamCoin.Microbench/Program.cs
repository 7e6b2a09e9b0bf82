using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/RamCoin.Microbench -- --filter '*'   (BenchmarkDotNet's own options)
BenchmarkSwitcher.FromAssembly(typeof(RamCoin.Microbench.HotPaths).Assembly).Run(args);
