using RamCoin;

return await LauncherCommand.RunAsync(args);
