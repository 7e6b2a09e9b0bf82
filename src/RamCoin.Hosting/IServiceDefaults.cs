namespace RamCoin.Hosting;

/// <summary>
/// Options whose defaults follow the profile or the peers' addresses: <see cref="ServiceHost.AddValidatedOptions"/>
/// applies them first, so that what the configuration says binds over them.
/// </summary>
public interface IServiceDefaults
{
    void ApplyDefaults(ServiceHostSettings settings);
}
