using Akka.Actor;

namespace Liminal.Actors;

/// <summary>
/// The bus's four actors. Started in process by <c>LiminalBus.Start</c> (Liminal.Actors), or those of a running host
/// reached by <c>LiminalClient.ConnectAsync</c> (Liminal.Client): the same messages either way.
/// </summary>
public sealed class LiminalBus
{
    private LiminalBus(IActorRef dedup, IActorRef conversations, IActorRef channels, IActorRef offsets)
    {
        Dedup = dedup;
        Conversations = conversations;
        Channels = channels;
        Offsets = offsets;
    }

    /// <summary>Idempotency keys (<see cref="Liminal.Actors.Dedup"/>).</summary>
    public IActorRef Dedup { get; }

    /// <summary>Durable conversations.</summary>
    public IActorRef Conversations { get; }

    /// <summary>Channel registry, publish, subscribe, replay.</summary>
    public IActorRef Channels { get; }

    /// <summary>Consumer offsets and processing receipts.</summary>
    public IActorRef Offsets { get; }

    /// <summary>A bus made of refs found elsewhere, e.g. a remote host's actors (see Liminal.Client).</summary>
    public static LiminalBus Of(IActorRef dedup, IActorRef conversations, IActorRef channels, IActorRef offsets) =>
        new(dedup, conversations, channels, offsets);
}
