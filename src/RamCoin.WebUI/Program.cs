using RamCoin.WebUI;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
return await ServiceMain.RunAsync(args, ServiceNames.WebUI, b => b.AddWebUI(), a => a.MapWebUIApi());
