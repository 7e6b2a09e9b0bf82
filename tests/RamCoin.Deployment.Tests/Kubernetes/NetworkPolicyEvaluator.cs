using k8s.Models;

namespace RamCoin.Tests.Kubernetes;

/// <summary>A peer on the network: a pod (labels, namespace and its namespace's labels, listening ports) or the outside world.</summary>
public sealed record Peer(string Name, string? Namespace, IDictionary<string, string> Labels, IDictionary<string, string> NamespaceLabels, IReadOnlyList<(int Port, string Protocol, string? Name)> Ports)
{
    public bool IsPod => Namespace is not null;

    public static Peer Outside { get; } = new("outside", null, new Dictionary<string, string>(), new Dictionary<string, string>(), []);

    public static Peer Pod(string name, string ns, IDictionary<string, string> labels, params (int, string, string?)[] ports) =>
        new(name, ns, labels, new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns }, ports);
}

/// <summary>
/// The rules of Kubernetes NetworkPolicy (networking.k8s.io/v1), small enough to read: traffic from A to B on a
/// port is allowed when A's egress allows it (or no policy selects A for egress) and B's ingress allows it
/// (or no policy selects B for ingress). Policies are additive; a rule's peers and ports must both match.
/// </summary>
public sealed class NetworkPolicyEvaluator(IReadOnlyList<V1NetworkPolicy> policies)
{
    public bool Allows(Peer from, Peer to, int port, string protocol = "TCP") =>
        Allowed(from, to, port, protocol, egress: true) && Allowed(to, from, port, protocol, egress: false);

    /// <summary>Whether <paramref name="subject"/>'s policies let it talk to (egress) or hear from (ingress) <paramref name="other"/>.</summary>
    private bool Allowed(Peer subject, Peer other, int port, string protocol, bool egress)
    {
        if (!subject.IsPod)
        {
            return true; // the outside world is not governed by the cluster's policies
        }

        var type = egress ? "Egress" : "Ingress";
        var selecting = policies
            .Where(p => p.Metadata.NamespaceProperty == subject.Namespace)
            .Where(p => p.Spec.PodSelector.Matches(subject.Labels))
            .Where(p => PolicyTypes(p).Contains(type))
            .ToList();
        if (selecting.Count == 0)
        {
            return true;
        }

        // The port that matters is the one the receiving pod listens on.
        var receiver = egress ? other : subject;
        return selecting.Any(p => egress
            ? (p.Spec.Egress ?? []).Any(r => PeersMatch(r.To, other, p) && PortsMatch(r.Ports, receiver, port, protocol))
            : (p.Spec.Ingress ?? []).Any(r => PeersMatch(r.FromProperty, other, p) && PortsMatch(r.Ports, receiver, port, protocol)));
    }

    private static IEnumerable<string> PolicyTypes(V1NetworkPolicy policy) =>
        policy.Spec.PolicyTypes is { Count: > 0 } types
            ? types
            : policy.Spec.Egress is not null ? ["Ingress", "Egress"] : ["Ingress"];

    private static bool PeersMatch(IList<V1NetworkPolicyPeer>? peers, Peer other, V1NetworkPolicy policy)
    {
        if (peers is null || peers.Count == 0)
        {
            return true; // no peers listed: every source or destination
        }

        return peers.Any(peer =>
        {
            if (peer.IpBlock is not null)
            {
                // Only the catch-all block is used here: anything outside the cluster.
                return !other.IsPod && peer.IpBlock.Cidr is "0.0.0.0/0" or "::/0";
            }

            if (!other.IsPod)
            {
                return false; // pod and namespace selectors select pods only
            }

            var namespaceOk = peer.NamespaceSelector is null
                ? other.Namespace == policy.Metadata.NamespaceProperty
                : peer.NamespaceSelector.Matches(other.NamespaceLabels);
            var podOk = peer.PodSelector is null || peer.PodSelector.Matches(other.Labels);
            return namespaceOk && podOk;
        });
    }

    private static bool PortsMatch(IList<V1NetworkPolicyPort>? ports, Peer receiver, int port, string protocol)
    {
        if (ports is null || ports.Count == 0)
        {
            return true;
        }

        return ports.Any(p =>
        {
            if ((p.Protocol ?? "TCP") != protocol)
            {
                return false;
            }

            if (p.Port is null)
            {
                return true;
            }

            if (int.TryParse(p.Port.Value, out var number))
            {
                return p.EndPort is int end ? port >= number && port <= end : port == number;
            }

            return receiver.Ports.Any(r => r.Name == p.Port.Value && r.Port == port && r.Protocol == protocol);
        });
    }
}
