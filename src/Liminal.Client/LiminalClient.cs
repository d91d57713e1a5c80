using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors;
using Liminal.Actors.Validation;

namespace Liminal.Client;

/// <summary>
/// Reaches a running Liminal host from another process over Akka.Remote: the same four actors and the same
/// messages as in-process, resolved by their paths on the host's actor system.
/// </summary>
public static class LiminalClient
{
    /// <summary>The actor system name of the standalone host.</summary>
    public const string HostSystemName = LiminalActorNames.HostSystem;

    /// <summary>
    /// The detail of every rejection a connected bus answers with while its host is unreachable (e.g.
    /// <c>PublishRejected(Overloaded)</c>): nothing was sent; retry later.
    /// </summary>
    public const string BusUnreachable = "bus unreachable; retry";

    /// <summary>An actor system that can talk to a host: remoting on a free local port.</summary>
    public static ActorSystem CreateSystem(string name = "liminal-client", string hostname = "127.0.0.1") =>
        ActorSystem.Create(name, ClientConfig(hostname));

    /// <summary>
    /// The configuration of such a system, for callers that create it themselves. <paramref name="maxPayloadBytes"/> must
    /// be the host's <c>liminal.max-payload-bytes</c>: the frame is sized to carry it both ways (the host's deliveries
    /// too), and larger requests are rejected before they are sent.
    /// </summary>
    public static Config ClientConfig(string hostname = "127.0.0.1", int maxPayloadBytes = InputRules.DefaultMaxPayloadBytes)
    {
        var frame = WireFrame.SizeFor(maxPayloadBytes);
        return ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              actor.provider = remote
              remote.dot-netty.tcp {
                hostname = "{{hostname}}", port = 0
                maximum-frame-size = {{frame}}b, send-buffer-size = {{frame}}b, receive-buffer-size = {{frame}}b
              }
            }
            liminal.max-payload-bytes = {{maxPayloadBytes}}b
            """).WithFallback(LiminalWireSerializer.Binding);
    }

    /// <summary>
    /// Resolves the host's dedup, conversations, channels and offsets actors. The refs handed back are local guards in
    /// front of them: a malformed request (a payload over <c>liminal.max-payload-bytes</c>, an id the bus refuses) is
    /// answered at once with the bus's typed rejection, and never sent. When the host stops, crashes or restarts, each
    /// guard resolves its actor again by itself (200 ms apart, growing to 2 s, for as long as it takes), answers requests
    /// meanwhile with their family's "retry later" rejection (<see cref="BusUnreachable"/>), and sends the new host every
    /// durable subscription (<c>SubscribeDurable</c>) made through it whose consumer was not deleted through it and
    /// whose subscriber still runs: a client writes no reconnect code.
    /// </summary>
    public static async Task<LiminalBus> ConnectAsync(
        ActorSystem system, string hostname, int port, string dedupNamespace = "default", TimeSpan? timeout = null)
    {
        var maxPayloadBytes = (int)(system.Settings.Config.GetByteSize("liminal.max-payload-bytes", null) ?? InputRules.DefaultMaxPayloadBytes);
        if (WireFrame.Problem(system, maxPayloadBytes) is { } problem)
            throw new LiminalConfigurationException([problem]);
        var wait = timeout ?? TimeSpan.FromSeconds(10);
        var root = $"akka.tcp://{HostSystemName}@{hostname}:{port}/user/";
        async Task<IActorRef> Resolve(string name) =>
            system.ActorOf(RequestGuard.Props(await system.ActorSelection(root + name).ResolveOne(wait), maxPayloadBytes));
        return LiminalBus.Of(
            await Resolve(LiminalActorNames.Dedup(dedupNamespace)),
            await Resolve(LiminalActorNames.Conversations),
            await Resolve(LiminalActorNames.Channels),
            await Resolve(LiminalActorNames.Offsets));
    }
}
