;;; orrery-test.el --- The Emacs session against the real `orrery lsp' -*- lexical-binding: t; -*-

;; ORRERY_BIN=target/debug/orrery emacs --batch -l editors/emacs/test/orrery-test.el
;;
;; Loads orrery.el, opens the session's config (editors/test/session.json) through eglot, runs
;; each step in `features' with eglot's own commands (xref, completion-at-point, eglot-rename,
;; flymake) and exits 0 only if every assertion held.

;;; Code:

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defconst orrery-test--here (file-name-directory (or load-file-name buffer-file-name)))
(defconst orrery-test--editors (expand-file-name "../.." orrery-test--here))
(add-to-list 'load-path (expand-file-name ".." orrery-test--here))

(require 'eglot)
(require 'flymake)
(require 'orrery)

(defconst orrery-test--timeout
  (/ (string-to-number (or (getenv "ORRERY_EDITOR_TIMEOUT_MS") "20000")) 1000.0))

(defconst orrery-test--session
  (json-parse-string
   (with-temp-buffer
     (insert-file-contents (expand-file-name "test/session.json" orrery-test--editors))
     (buffer-string))
   :object-type 'plist :array-type 'list))

(defconst orrery-test--project
  (expand-file-name (concat "test/" (plist-get orrery-test--session :project)) orrery-test--editors))

(defvar orrery-test--passed 0)
(defvar orrery-test--failed 0)

(defun orrery-test--check (ok what &optional detail)
  "Record OK for WHAT; print DETAIL when it failed."
  (if ok
      (progn (cl-incf orrery-test--passed) (princ (format "ok   %s\n" what)))
    (cl-incf orrery-test--failed)
    (princ (format "FAIL %s%s\n" what (if detail (format "\n     %s" detail) ""))))
  ok)

(defun orrery-test--wait (predicate)
  "Run the event loop until PREDICATE holds or the timeout passes.
Return its last value."
  (let ((deadline (+ (float-time) orrery-test--timeout))
        value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.02))
    value))

(defun orrery-test--goto (step)
  "Move point to the first `find' of STEP on its 1-based `line'."
  (goto-char (point-min))
  (forward-line (1- (plist-get step :line)))
  (let ((end (line-end-position)))
    (unless (search-forward (plist-get step :find) end t)
      (error "\"%s\" is not on line %d" (plist-get step :find) (plist-get step :line)))
    (goto-char (match-beginning 0))))

(defun orrery-test--line (n)
  "The text of line N of the current buffer."
  (save-excursion
    (goto-char (point-min))
    (forward-line (1- n))
    (buffer-substring-no-properties (line-beginning-position) (line-end-position))))

(defconst orrery-test--watched
  (mapcar (lambda (d) (plist-get d :code))
          (append (plist-get orrery-test--session :diagnostics)
                  (plist-get (plist-get orrery-test--session :codeAction) :diagnostics)))
  "The codes the session names: other findings (a rule added later) do not count.")

(defun orrery-test--diagnostics ()
  "Flymake's diagnostics of this buffer as sorted \"LINE:COLUMN CODE\" strings."
  (sort
   (delq nil
         (mapcar (lambda (diag)
                   (let* ((lsp (alist-get 'eglot-lsp-diag (flymake-diagnostic-data diag)))
                          (start (plist-get (plist-get lsp :range) :start)))
                     (when (member (plist-get lsp :code) orrery-test--watched)
                       (format "%d:%d %s"
                               (line-number-at-pos (flymake-diagnostic-beg diag))
                               (1+ (plist-get start :character))
                               (plist-get lsp :code)))))
                 (flymake-diagnostics)))
   #'string<))

(defun orrery-test--expect-diagnostics (expected what)
  "Wait until flymake shows exactly EXPECTED (session entries).
Then check it as WHAT."
  (let ((wanted (string-join
                 (sort (mapcar (lambda (d) (format "%d:%d %s" (plist-get d :line) (plist-get d :column)
                                                   (plist-get d :code)))
                               expected)
                       #'string<)
                 ", ")))
    (orrery-test--wait (lambda ()
                         (flymake-start)
                         (equal (string-join (orrery-test--diagnostics) ", ") wanted)))
    (let ((got (string-join (orrery-test--diagnostics) ", ")))
      (orrery-test--check (equal got wanted) (format "%s: %s" what wanted) (format "got: %s" got)))))

(defun orrery-test--diagnostics-step ()
  (orrery-test--expect-diagnostics (plist-get orrery-test--session :diagnostics) "diagnostics published on open"))

(defun orrery-test--hover-step ()
  (let ((step (plist-get orrery-test--session :hover)))
    (orrery-test--goto step)
    (let* ((result (jsonrpc-request (eglot--current-server-or-lose) :textDocument/hover
                                    (eglot--TextDocumentPositionParams)))
           (text (if result (eglot--hover-info (plist-get result :contents)) "")))
      (dolist (piece (plist-get step :contains))
        (orrery-test--check (string-search piece text)
                            (format "hover on %s mentions %S" (plist-get step :find) piece)
                            (format "hover: %s" text))))))

(defun orrery-test--definition-step ()
  (let* ((step (plist-get orrery-test--session :definition))
         (source (current-buffer))
         (target (expand-file-name (plist-get step :file) orrery-test--project)))
    (orrery-test--goto step)
    (condition-case err
        (call-interactively #'xref-find-definitions)
      (error (orrery-test--check nil "xref-find-definitions answers" (error-message-string err))))
    (orrery-test--check (and buffer-file-name
                             (equal (file-truename buffer-file-name) (file-truename target))
                             (= (line-number-at-pos) (plist-get step :target_line)))
                        (format "xref-find-definitions on %s opens %s:%d" (plist-get step :find)
                                (plist-get step :file) (plist-get step :target_line))
                        (format "at %s:%d" buffer-file-name (line-number-at-pos)))
    (switch-to-buffer source)))

(defun orrery-test--completion-step ()
  (let ((step (plist-get orrery-test--session :completion)))
    (orrery-test--goto step)
    (let* ((capf (eglot-completion-at-point))
           (labels (and capf (all-completions "" (nth 2 capf)))))
      (dolist (label (plist-get step :labels))
        (orrery-test--check (member label labels)
                            (format "completion at line %d offers %s" (plist-get step :line) label)
                            (format "offered: %s" (string-join labels " ")))))))

(defun orrery-test--jobs-step ()
  (let ((names (orrery-job-names))
        (wanted (plist-get (plist-get orrery-test--session :jobs) :names)))
    (orrery-test--check (equal names wanted)
                        (format "orrery-run-job completes the jobs %s" (string-join wanted " "))
                        (format "got: %s" names))))

(defun orrery-test--codeAction-step ()
  "Apply the server's quick fix through eglot's code-action path.
Then wait for the new diagnostics."
  (let* ((step (plist-get orrery-test--session :codeAction))
         (beg (progn (orrery-test--goto step) (point)))
         (end (+ beg (length (plist-get step :find))))
         (actions (eglot-code-actions beg end))
         (chosen (cl-find (plist-get step :title) actions
                          :key (lambda (a) (plist-get a :title)) :test #'equal)))
    (when (orrery-test--check chosen
                              (format "a code action on line %d is %S"
                                      (plist-get step :line) (plist-get step :title))
                              (format "offered: %s"
                                      (mapconcat (lambda (a) (plist-get a :title)) actions " | ")))
      ;; What `eglot-code-actions' runs once the user picked CHOSEN.
      (eglot--read-execute-code-action (list chosen) (eglot--current-server-or-lose)
                                       (or (plist-get chosen :kind) "quickfix"))
      (cl-loop for (line text) on (plist-get step :lines) by #'cddr
               for n = (string-to-number (substring (symbol-name line) 1))
               do (orrery-test--check (equal (orrery-test--line n) text)
                                      (format "after the fix, line %d is %S" n text)
                                      (format "got: %S" (orrery-test--line n))))
      ;; eglot sends changes when Emacs goes idle, which batch Emacs never does: send them now.
      (eglot--signal-textDocument/didChange)
      (orrery-test--expect-diagnostics (plist-get step :diagnostics) "diagnostics after the fix"))))

(defvar orrery-test--view nil)

(defun orrery-test--view-current-p (source)
  "Non-nil when the compiled view answers SOURCE's current text."
  (and (buffer-live-p orrery-test--view)
       (equal (buffer-local-value 'orrery-compiled-tick orrery-test--view)
              (buffer-chars-modified-tick source))))

(defun orrery-test--compiledConfig-step ()
  (let ((source (current-buffer)))
    (setq orrery-test--view (orrery-show-compiled))
    (orrery-test--check (get-buffer-window orrery-test--view) "orrery-show-compiled shows a window")
    (orrery-test--wait (lambda () (orrery-test--view-current-p source)))
    (let ((text (with-current-buffer orrery-test--view (buffer-string))))
      (dolist (piece (plist-get (plist-get orrery-test--session :compiledConfig) :contains))
        (orrery-test--check (string-search piece text) (format "the compiled view shows %S" piece) text)))
    (orrery-test--check (buffer-local-value 'buffer-read-only orrery-test--view) "the compiled view is read-only")))

(defun orrery-test--rename-step ()
  (let ((step (plist-get orrery-test--session :rename))
        (source (current-buffer)))
    (orrery-test--goto step)
    (condition-case err
        (eglot-rename (plist-get step :new_name))
      (error (orrery-test--check nil "eglot-rename answers" (error-message-string err))))
    (cl-loop for (line text) on (plist-get step :lines) by #'cddr
             for n = (string-to-number (substring (symbol-name line) 1))
             do (orrery-test--check (equal (orrery-test--line n) text)
                                    (format "after rename, line %d is %S" n text)
                                    (format "got: %S" (orrery-test--line n))))
    (when (and orrery-test--view (plist-get step :compiled_contains))
      (orrery-test--wait (lambda () (orrery-test--view-current-p source)))
      (let ((text (with-current-buffer orrery-test--view (buffer-string))))
        (dolist (piece (plist-get step :compiled_contains))
          (orrery-test--check (string-search piece text)
                              (format "the compiled view follows the rename: %S" piece) text))))))

(defun orrery-test--run ()
  (let ((binary (getenv "ORRERY_BIN")))
    (when (and binary (not (string-empty-p binary)))
      (setq orrery-executable (expand-file-name binary command-line-default-directory))))
  (find-file (expand-file-name (plist-get orrery-test--session :open) orrery-test--project))
  (orrery-test--check (and (eq major-mode 'circleci-yaml-mode) (derived-mode-p 'yaml-mode))
                      "auto-mode-alist: the config opens in circleci-yaml-mode, derived from yaml-mode"
                      (format "major mode: %s" major-mode))
  (apply #'eglot (eglot--guess-contact))
  (orrery-test--wait (lambda () (and (eglot-current-server) eglot--managed-mode)))
  (when (orrery-test--check (and (eglot-current-server) eglot--managed-mode)
                            "eglot started orrery lsp and manages the buffer")
    (dolist (feature (plist-get orrery-test--session :features))
      (let ((step (intern (format "orrery-test--%s-step" feature))))
        (condition-case err
            (funcall step)
          (error (orrery-test--check nil (format "%s ran without a Lisp error" feature)
                                     (error-message-string err))))))))

(condition-case err
    (orrery-test--run)
  (error (orrery-test--check nil "session ran without a Lisp error" (error-message-string err))))
(princ (format "emacs: %d passed, %d failed\n" orrery-test--passed orrery-test--failed))
(kill-emacs (if (zerop orrery-test--failed) 0 1))

;;; orrery-test.el ends here
