// Focus goes back to what opened a dialog, when it closes. The app's dialogs open from
// state (a button's event, a menu item's), not from a Radix Dialog.Trigger, and Radix
// returns focus to its trigger only: without one, focus fell to <body>, and a keyboard
// user had to start again from the top of the page. The dialogs' close handler calls
// window.restoreFocus() (app/ui/components/dialogs.py).
(() => {
  let opener = null;
  document.addEventListener(
    "focusin",
    (event) => {
      const target = event.target;
      if (target instanceof HTMLElement && !target.closest('[role="dialog"], [role="alertdialog"]')) {
        opener = target;
      }
    },
    true,
  );
  window.restoreFocus = () => {
    if (opener && opener.isConnected) opener.focus({ focusVisible: true });
  };
})();
