namespace Liminal.Actors;

/// <summary>
/// Where the bus's actors live: the host names its actor system and the bus names its four actors so, and a remote
/// client resolves them at <c>akka.tcp://{HostSystem}@host:port/user/{name}</c>. Part of the public contract.
/// </summary>
public static class LiminalActorNames
{
    /// <summary>The actor system name of the standalone host.</summary>
    public const string HostSystem = "liminal";

    public const string Channels = "liminal-channels";

    public const string Conversations = "liminal-conversations";

    public const string Offsets = "liminal-offsets";

    /// <summary>The dedup key space of one namespace (<c>liminal.dedup.namespace</c>).</summary>
    public static string Dedup(string dedupNamespace) => $"liminal-dedup-{dedupNamespace}";
}
