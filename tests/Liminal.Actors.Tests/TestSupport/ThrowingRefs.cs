using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>A sender or subscriber ref (not one of our actors) that throws on every message told to it.</summary>
internal sealed class ThrowsOnEveryMessage(ActorPath path, IActorRefProvider provider) : MinimalActorRef
{
    public ThrowsOnEveryMessage(ActorSystem system, string name) : this(PathIn(system, name), ((ExtendedActorSystem)system).Provider) { }

    public override ActorPath Path => path;

    public override IActorRefProvider Provider => provider;

    protected override void TellInternal(object message, IActorRef sender) =>
        throw new InvalidOperationException("injected: the ref's transport failed");

    internal static ActorPath PathIn(ActorSystem system, string name) =>
        new RootActorPath(((ExtendedActorSystem)system).Provider.DefaultAddress) / "user" / name;
}

/// <summary>
/// A subscriber ref (not one of our actors) whose first delivery throws (every delivery with <c>always</c>); the
/// others reach <c>inbox</c>.
/// </summary>
internal sealed class ThrowsOnFirstDelivery(ActorPath path, IActorRefProvider provider, IActorRef inbox, bool always = false) : MinimalActorRef
{
    private int _deliveries;

    public override ActorPath Path => path;

    public override IActorRefProvider Provider => provider;

    protected override void TellInternal(object message, IActorRef sender)
    {
        if (message is not Delivery)
            return;   // Watch/Unwatch: this ref never terminates
        if (Interlocked.Increment(ref _deliveries) == 1 || always)
            throw new InvalidOperationException("injected: the subscriber's transport failed");
        inbox.Tell(message, sender);
    }
}
