using RamCoin.Hasher;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
return await ServiceMain.RunAsync(args, ServiceNames.Hasher, b => b.AddHasher(), a => a.MapHasherApi());
