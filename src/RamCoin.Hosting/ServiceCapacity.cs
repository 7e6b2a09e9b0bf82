using System.Diagnostics.CodeAnalysis;

namespace RamCoin.Hosting;

/// <summary>
/// What a service tells every caller about how much it can serve, in headers beside its identity: the workers
/// record it and the dashboard computes the expected ceiling from it. Read for each response, so that a knob
/// changed at run time (admin API) shows in the next answer.
/// </summary>
public sealed class ServiceCapacity(Func<(int? Concurrency, int ServiceMs)> current)
{
    public void WriteTo(IHeaderDictionary headers)
    {
        var (concurrency, serviceMs) = current();
        if (concurrency is int limit)
        {
            headers[ServiceIdentity.ConcurrencyHeader] = limit.ToString(CultureInfo.InvariantCulture);
        }

        headers[ServiceIdentity.ServiceMsHeader] = serviceMs.ToString(CultureInfo.InvariantCulture);
    }
}

public static class ServiceCapacityRegistration
{
    /// <summary>The service's options say its concurrency (null: no limit) and its service time in ms.</summary>
    public static IServiceCollection AddServiceCapacity<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(
        this IServiceCollection services, Func<TOptions, int?> concurrency, Func<TOptions, int> serviceMs)
        where TOptions : class =>
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<TOptions>>();
            return new ServiceCapacity(() => (concurrency(options.CurrentValue), serviceMs(options.CurrentValue)));
        });
}
