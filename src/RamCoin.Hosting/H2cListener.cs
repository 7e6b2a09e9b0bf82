using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RamCoin.Hosting;

/// <summary>
/// A second port that speaks HTTP/2 without TLS (h2c, prior knowledge), beside the HTTP/1.1 port DockerCoins'
/// clients use. Many calls then share one connection and its reads and writes: the fast profile's worker
/// calls rng and hasher this way (<c>RNG_URL=http://rng:81</c> with <c>WORKER_H2C=true</c>): a third more
/// hashes/s (docs/performance.md).
/// </summary>
/// <remarks>
/// A separate port because Kestrel cannot tell HTTP/1.1 from h2c on one cleartext port (it answers the HTTP/2
/// preface with HTTP_1_1_REQUIRED). Kestrel ignores its URL settings once a listener is configured in code,
/// so the HTTP/1.1 addresses are configured here too, from the same settings.
/// </remarks>
public sealed class H2cListener
{
    public const string PortSetting = "RAMCOIN_H2C_PORT";

    private ListenOptions? _listen;

    /// <summary>The h2c port's address once the server listens (<c>http://127.0.0.1:41234</c>); null without one.</summary>
    public Uri? Url => _listen?.IPEndPoint is { } endPoint
        ? new Uri($"http://{(endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(IPAddress.Loopback, endPoint.Port) : endPoint)}")
        : null;

    /// <summary>Listens on the HTTP/1.1 addresses (the same settings as without h2c) and on the h2c port.</summary>
    /// <exception cref="OptionsValidationException">An address that is not plain http://.</exception>
    public static void Configure(WebApplicationBuilder builder, int port)
    {
        var listener = new H2cListener();
        builder.Services.AddSingleton(listener);
        var configuration = builder.Configuration;
        var urls = (configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : null)
            ?? (configuration[WebHostDefaults.HttpPortsKey] is { Length: > 0 } ports
                ? string.Join(';', ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://+:{p}"))
                : "http://localhost:5000");
        var addresses = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(BindingAddress.Parse).ToList();
        if (addresses.FirstOrDefault(a => !string.Equals(a.Scheme, "http", StringComparison.OrdinalIgnoreCase) || a.IsUnixPipe) is { } unsupported)
        {
            throw new OptionsValidationException(PortSetting, typeof(H2cListener), [$"{PortSetting} needs plain http:// listen addresses (not '{unsupported}')."]);
        }

        // Configured here now: left in the settings too, Kestrel would warn that it overrides them.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "");
        builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, "");
        // After every other Kestrel setting: Listen applies the endpoint defaults (the connection cap) set by then.
        builder.Services.PostConfigure<KestrelServerOptions>(kestrel =>
        {
            foreach (var address in addresses)
            {
                Listen(kestrel, address.Host, address.Port, _ => { });
            }

            Listen(kestrel, addresses[0].Host, port, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                listener._listen = o;
            });
        });
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, Action<ListenOptions> configure)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, port, configure);
        }
        else
        {
            // "+", "*" or a host name: every interface, as Kestrel treats them in URLs.
            kestrel.ListenAnyIP(port, configure);
        }
    }
}
