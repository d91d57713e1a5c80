using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;

namespace Liminal.Client;

/// <summary>
/// Reaches a running Liminal host from another process over Akka.Remote: the same four actors and the same
/// messages as in-process, resolved by their paths on the host's actor system.
/// </summary>
public static class LiminalClient
{
    /// <summary>The actor system name of the standalone host.</summary>
    public const string HostSystemName = "liminal";

    /// <summary>An actor system that can talk to a host: remoting on a free local port.</summary>
    public static ActorSystem CreateSystem(string name = "liminal-client", string hostname = "127.0.0.1") =>
        ActorSystem.Create(name, ClientConfig(hostname));

    /// <summary>The configuration of such a system, for callers that create it themselves.</summary>
    public static Config ClientConfig(string hostname = "127.0.0.1") =>
        ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "{{hostname}}", port = 0 }
            }
            """).WithFallback(LiminalSettings.DefaultConfig);

    /// <summary>Resolves the host's dedup, conversations, channels and offsets actors.</summary>
    public static async Task<LiminalBus> ConnectAsync(
        ActorSystem system, string hostname, int port, string dedupNamespace = "default", TimeSpan? timeout = null)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(10);
        var root = $"akka.tcp://{HostSystemName}@{hostname}:{port}/user/";
        async Task<IActorRef> Resolve(string name) => await system.ActorSelection(root + name).ResolveOne(wait);
        return LiminalBus.Of(
            await Resolve($"liminal-dedup-{dedupNamespace}"),
            await Resolve("liminal-conversations"),
            await Resolve("liminal-channels"),
            await Resolve("liminal-offsets"));
    }
}
