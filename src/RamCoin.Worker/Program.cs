using RamCoin.Worker;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
return await ServiceMain.RunAsync(args, ServiceNames.Worker, b => b.AddWorker(), a => a.MapWorkerApi());
