using Akka.Actor;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Client;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// An actor system named and placed like the host (system <see cref="LiminalClient.HostSystemName"/>, a fixed port), with
/// an actor at each of the bus's four paths that tells <c>recorder</c> every request it gets: what a client sees of a
/// host, without the bus behind it. With <c>publicPort</c> it binds <c>port</c> but calls itself by <c>publicPort</c>
/// (a <see cref="TcpForwarder"/> there can then drop its connections without the system knowing).
/// </summary>
internal sealed class StandInHost : IAsyncDisposable
{
    private StandInHost(ActorSystem system) => System = system;

    public ActorSystem System { get; }

    public static StandInHost Start(int port, IActorRef recorder, int? publicPort = null)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.remote.dot-netty.tcp { port = {{port}}, public-port = {{publicPort ?? port}} }
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """).WithFallback(LiminalClient.ClientConfig());
        var system = ActorSystem.Create(LiminalClient.HostSystemName, config);
        foreach (var name in new[]
                 {
                     LiminalActorNames.Channels, LiminalActorNames.Conversations, LiminalActorNames.Offsets,
                     LiminalActorNames.Dedup("default"),
                 })
            system.ActorOf(Props.Create(() => new Recording(recorder)), name);
        return new StandInHost(system);
    }

    /// <summary>A clean stop: CoordinatedShutdown, the actors stop and say so to whoever watches them.</summary>
    public Task StopAsync() => CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ActorSystemTerminateReason.Instance);

    public async ValueTask DisposeAsync() => await System.Terminate();

    /// <summary>Records each request; answers a durable subscribe as the bus does and hands its subscriber one delivery.</summary>
    private sealed class Recording(IActorRef recorder) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            recorder.Forward(message);
            switch (message)
            {
                case SubscribeDurable subscribe:
                    Sender.Tell(new ConsumerSubscribed(subscribe.Channel, subscribe.Consumer));
                    subscribe.Subscriber.Tell(
                        new Delivery(subscribe.Channel, 0, 1, new MessageEnvelope("{}"u8.ToArray(), "stand-in")) { Consumer = subscribe.Consumer });
                    break;
                case DeleteConsumer delete:
                    Sender.Tell(new ConsumerDeleted(delete.Channel, delete.Consumer));
                    break;
                case GetChannels:
                    Sender.Tell(new ChannelList([]));
                    break;
            }
        }
    }
}
