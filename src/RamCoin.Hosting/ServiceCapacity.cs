using System.Diagnostics.CodeAnalysis;

namespace RamCoin.Hosting;

/// <summary>
/// What a service tells every caller about how much it can serve, in headers beside its identity: the workers
/// record it and the dashboard computes the expected ceiling from it. Read for each response, so that a knob
/// changed at run time (admin API) shows in the next answer.
/// </summary>
public sealed class ServiceCapacity(Func<(int? Concurrency, int ServiceMs)> current)
{
    /// <summary>The header values as last formatted: formatted again only when a knob changes, not per response.</summary>
    private Formatted _last = new(null, -1, null, "");

    public void WriteTo(IHeaderDictionary headers)
    {
        var (concurrency, serviceMs) = current();
        var last = _last;
        if (last.Concurrency != concurrency || last.ServiceMs != serviceMs)
        {
            _last = last = new Formatted(concurrency, serviceMs, concurrency?.ToString(CultureInfo.InvariantCulture), serviceMs.ToString(CultureInfo.InvariantCulture));
        }

        if (last.ConcurrencyText is { } limit)
        {
            headers[ServiceIdentity.ConcurrencyHeader] = limit;
        }

        headers[ServiceIdentity.ServiceMsHeader] = last.ServiceMsText;
    }

    private sealed record Formatted(int? Concurrency, int ServiceMs, string? ConcurrencyText, string ServiceMsText);
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
            return new ServiceCapacity(() =>
            {
                var current = options.CurrentValue;
                return (concurrency(current), serviceMs(current));
            });
        });
}
