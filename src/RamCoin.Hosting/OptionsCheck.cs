namespace RamCoin.Hosting;

/// <summary>
/// One options class's validation, run on a configuration that is not (yet) the service's own: what is wrong with
/// the options that configuration would give. The admin API checks a change with it before applying it, so that
/// no request ever reads invalid options.
/// </summary>
/// <param name="Failures">Binds fresh options from the configuration and answers their validation failures (none: valid).</param>
public sealed record OptionsCheck(Func<IConfiguration, IEnumerable<string>> Failures);
