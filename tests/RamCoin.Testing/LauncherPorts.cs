namespace RamCoin.Tests.Infrastructure;

/// <summary>A free loopback port for every target of one launcher run, and the options that set them.</summary>
public sealed record LauncherPorts(int WebUI, int Rng, int Hasher, int Worker, int Store)
{
    public static LauncherPorts Free() => new(FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next());

    public string[] Options =>
        ["--webui-port", $"{WebUI}", "--rng-port", $"{Rng}", "--hasher-port", $"{Hasher}", "--worker-port", $"{Worker}", "--store-port", $"{Store}"];
}
