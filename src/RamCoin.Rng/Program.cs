using RamCoin.Rng;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
return await ServiceMain.RunAsync(args, ServiceNames.Rng, b => b.AddRng(), a => a.MapRngApi());
