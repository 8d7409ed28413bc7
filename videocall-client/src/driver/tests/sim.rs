//! The simulated platform: a clock that moves only when the test says so, timers that fire in
//! deadline order, connects that follow a script, and links the test feeds and inspects. The
//! [`Harness`] polls the driver like a one-task executor, only when something woke it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::StreamExt;
use futures::task::ArcWake;
use videocall_types::CloseReason;

use crate::client::{ClientHandle, Events};
use crate::dial::ConnectFailure;
use crate::event::{Event, TransportKind};
use crate::link::{Link, Platform, Received, Sent};
use crate::options::{ClientOptions, Endpoint};

/// The wall clock at simulated time zero, in Unix milliseconds.
pub(super) const EPOCH_MS: f64 = 1.7e12;

/// What one connect attempt does.
pub(super) enum Step {
    /// Connects after `after`.
    Accept { after: Duration },
    /// Fails after `after`.
    Fail { after: Duration, failure: ConnectFailure },
    /// Never answers: only the connect timeout ends it. Attempts beyond the script do this.
    Hang,
}

impl Step {
    /// Connects at once.
    pub(super) fn accept() -> Self {
        Self::Accept { after: Duration::ZERO }
    }
}

/// The simulated world.
#[derive(Default)]
pub(super) struct Sim {
    now: Cell<Duration>,
    next_id: Cell<u64>,
    /// Live timers: deadline and the waker of their last poll.
    timers: RefCell<BTreeMap<u64, (Duration, Waker)>>,
    script: RefCell<VecDeque<Step>>,
    attempts: RefCell<Vec<(Duration, TransportKind)>>,
    wires: RefCell<Vec<Rc<Wire>>>,
}

impl Sim {
    pub(super) fn now(&self) -> Duration {
        self.now.get()
    }

    /// The deadlines of the timers the driver is waiting on, earliest first.
    pub(super) fn deadlines(&self) -> Vec<Duration> {
        let mut deadlines: Vec<Duration> = self.timers.borrow().values().map(|t| t.0).collect();
        deadlines.sort();
        deadlines
    }

    /// Moves the clock to `to` and wakes the timers that are due.
    fn advance(&self, to: Duration) {
        self.now.set(to.max(self.now()));
        let due: Vec<Waker> =
            self.timers.borrow().values().filter(|t| t.0 <= to).map(|t| t.1.clone()).collect();
        due.into_iter().for_each(Waker::wake);
    }
}

/// A timer of the simulated clock; it stops counting as pending once dropped or fired.
struct Sleep {
    sim: Rc<Sim>,
    deadline: Duration,
    id: u64,
}

fn sleep(sim: &Rc<Sim>, deadline: Duration) -> Sleep {
    let id = sim.next_id.get();
    sim.next_id.set(id + 1);
    Sleep { sim: sim.clone(), deadline, id }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.sim.now() >= self.deadline {
            self.sim.timers.borrow_mut().remove(&self.id);
            return Poll::Ready(());
        }
        self.sim.timers.borrow_mut().insert(self.id, (self.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.sim.timers.borrow_mut().remove(&self.id);
    }
}

/// The far end of one simulated connection.
pub(super) struct Wire {
    kind: TransportKind,
    inbox: RefCell<VecDeque<Received>>,
    reader: RefCell<Option<Waker>>,
    sent: RefCell<Vec<(Duration, Vec<u8>)>>,
    closed_with: Cell<Option<CloseReason>>,
    backed_up: Cell<bool>,
    stalled: Cell<bool>,
}

impl Wire {
    fn new(kind: TransportKind) -> Self {
        Self {
            kind,
            inbox: RefCell::default(),
            reader: RefCell::default(),
            sent: RefCell::default(),
            closed_with: Cell::default(),
            backed_up: Cell::default(),
            stalled: Cell::default(),
        }
    }

    /// Delivers `item` to the driver.
    pub(super) fn push(&self, item: Received) {
        self.inbox.borrow_mut().push_back(item);
        if let Some(reader) = self.reader.borrow_mut().take() {
            reader.wake();
        }
    }

    /// What the driver wrote, with the time it did.
    pub(super) fn sent(&self) -> Vec<(Duration, Vec<u8>)> {
        self.sent.borrow().clone()
    }

    /// The reason the driver closed the link with, if it did.
    pub(super) fn closed_with(&self) -> Option<CloseReason> {
        self.closed_with.get()
    }

    /// Makes the link drop packets, as a browser WebSocket with a full send buffer does.
    pub(super) fn set_backed_up(&self, backed_up: bool) {
        self.backed_up.set(backed_up);
    }

    /// Makes sends wait forever, as a QUIC send waiting for stream credit may.
    pub(super) fn set_stalled(&self, stalled: bool) {
        self.stalled.set(stalled);
    }
}

/// The driver's end of a simulated connection.
pub(super) struct FakeLink {
    sim: Rc<Sim>,
    wire: Rc<Wire>,
}

impl Link for FakeLink {
    type Error = String;

    fn kind(&self) -> TransportKind {
        self.wire.kind
    }

    async fn send(&mut self, packet: Vec<u8>) -> Result<Sent, String> {
        if self.wire.stalled.get() {
            pending::<()>().await;
        }
        if self.wire.backed_up.get() {
            return Ok(Sent::Dropped);
        }
        self.wire.sent.borrow_mut().push((self.sim.now(), packet));
        Ok(Sent::Written)
    }

    async fn recv(&mut self) -> Received {
        poll_fn(|cx| match self.wire.inbox.borrow_mut().pop_front() {
            Some(item) => Poll::Ready(item),
            None => {
                *self.wire.reader.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    async fn close(self, reason: CloseReason) {
        self.wire.closed_with.set(Some(reason));
    }
}

/// The simulated platform.
struct Fake(Rc<Sim>);

impl Platform for Fake {
    type Link = FakeLink;

    fn now(&self) -> Duration {
        self.0.now()
    }

    fn unix_ms(&self) -> f64 {
        EPOCH_MS + self.now().as_secs_f64() * 1000.0
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        sleep(&self.0, deadline)
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<FakeLink, ConnectFailure> {
        self.0.attempts.borrow_mut().push((self.now(), endpoint.kind));
        let step = self.0.script.borrow_mut().pop_front().unwrap_or(Step::Hang);
        match step {
            Step::Accept { after } => {
                sleep(&self.0, self.now() + after).await;
                let wire = Rc::new(Wire::new(endpoint.kind));
                self.0.wires.borrow_mut().push(wire.clone());
                Ok(FakeLink { sim: self.0.clone(), wire })
            }
            Step::Fail { after, failure } => {
                sleep(&self.0, self.now() + after).await;
                Err(failure)
            }
            Step::Hang => pending().await,
        }
    }
}

/// Records that the driver was woken.
struct Flag(AtomicBool);

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.0.store(true, Ordering::SeqCst);
    }
}

/// A client whose driver runs on the simulated platform.
pub(super) struct Harness {
    pub(super) sim: Rc<Sim>,
    handle: Option<ClientHandle>,
    events: Events,
    driver: Option<Pin<Box<dyn Future<Output = ()>>>>,
    woken: Arc<Flag>,
    polls: usize,
}

impl Harness {
    /// A client for `options` whose connect attempts follow `script`; nothing runs until
    /// [`Harness::run_until`].
    pub(super) fn start(options: ClientOptions, script: impl IntoIterator<Item = Step>) -> Self {
        let sim = Rc::new(Sim::default());
        sim.script.borrow_mut().extend(script);
        let (handle, events, parts) = super::super::prepare(&options).unwrap();
        let driver = Box::pin(super::super::run(Fake(sim.clone()), parts));
        let woken = Arc::new(Flag(AtomicBool::new(true)));
        Self { sim, handle: Some(handle), events, driver: Some(driver), woken, polls: 0 }
    }

    /// The application's handle.
    pub(super) fn handle(&self) -> &ClientHandle {
        self.handle.as_ref().expect("the handle was dropped")
    }

    /// Drops the application's handle.
    pub(super) fn drop_handle(&mut self) {
        self.handle = None;
    }

    /// Whether the driver has completed.
    pub(super) fn finished(&self) -> bool {
        self.driver.is_none()
    }

    /// How often the driver was polled: once per wake-up.
    pub(super) fn polls(&self) -> usize {
        self.polls
    }

    /// The connect attempts so far: when, and over which transport.
    pub(super) fn attempts(&self) -> Vec<(Duration, TransportKind)> {
        self.sim.attempts.borrow().clone()
    }

    /// The latest connection.
    pub(super) fn wire(&self) -> Rc<Wire> {
        self.sim.wires.borrow().last().cloned().expect("no connection yet")
    }

    /// The events queued for the application so far.
    pub(super) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.events.try_recv()).collect()
    }

    /// Whether the event stream has ended (the driver is gone and every event was read).
    pub(super) fn events_ended(&mut self) -> bool {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        matches!(self.events.poll_next_unpin(&mut cx), Poll::Ready(None))
    }

    /// Polls the driver as long as something has woken it.
    fn settle(&mut self) {
        let waker = futures::task::waker(self.woken.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..10_000 {
            let Some(driver) = self.driver.as_mut() else { return };
            if !self.woken.0.swap(false, Ordering::SeqCst) {
                return;
            }
            self.polls += 1;
            if driver.as_mut().poll(&mut cx).is_ready() {
                self.driver = None;
            }
        }
        panic!("the driver keeps waking itself without time passing");
    }

    /// Runs the driver until the clock reads `until`, firing the timers on the way in order.
    pub(super) fn run_until(&mut self, until: Duration) {
        self.settle();
        let mut fired = 0;
        while let Some(deadline) = self.sim.deadlines().first().copied().filter(|d| *d <= until) {
            self.sim.advance(deadline);
            self.settle();
            fired += 1;
            assert!(fired < 1_000_000, "a timer that fires keeps firing");
        }
        self.sim.advance(until);
        self.settle();
    }
}
